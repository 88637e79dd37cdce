"""embed.js stays within its budget, 5 KB gzipped (``gzip -9``), as served: readable, no build step."""

import gzip
from pathlib import Path

EMBED_JS = Path(__file__).resolve().parent.parent / "webapp" / "static" / "embed.js"
BUDGET = 5120  # bytes, the same figure as bench/embed_size.py


def test_embed_js_is_at_most_5_kb_gzipped():
    size = len(gzip.compress(EMBED_JS.read_bytes(), compresslevel=9, mtime=0))
    assert size <= BUDGET, f"embed.js is {size} bytes gzipped, over the {BUDGET}-byte budget"


def test_embed_js_uses_no_eval_and_no_inline_handlers():
    source = EMBED_JS.read_text()
    for forbidden in ("eval(", "new Function", "setAttribute('on", 'setAttribute("on', ".onclick", "javascript:"):
        assert forbidden not in source
    assert source.count(".innerHTML") == 1  # only the text block, sanitised by the server
