"""Benchmark: the size of ``webapp/static/embed.js`` on the wire, against its budget of 5 KB gzipped.

The script is served as written (readable, no build step), so the figure is the file compressed with
``gzip -9``. The raw size and the size without comments are printed too, to show what the comments cost.
Usage: ``.venv/bin/python bench/embed_size.py``. Ends with the line
``BENCH embed_size: <bytes> bytes gz (<ratio>x 5120-byte budget)``.
"""

import gzip
import re
from pathlib import Path

EMBED_JS = Path(__file__).resolve().parent.parent / "webapp" / "static" / "embed.js"
BUDGET = 5120


def gzipped_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def without_comments(source: str) -> str:
    """Block comments and whole-line ``//`` comments removed (a rough figure; strings are not parsed)."""
    source = re.sub(r"/\*.*?\*/", "", source, flags=re.DOTALL)
    return re.sub(r"(?m)^\s*//.*\n", "", source)


def main() -> None:
    data = EMBED_JS.read_bytes()
    size = gzipped_size(data)
    bare = gzipped_size(without_comments(data.decode()).encode())
    print(f"embed.js: {len(data)} bytes raw, {size} bytes gzip -9, {bare} bytes gzip -9 without comments")
    print(f"BENCH embed_size: {size} bytes gz ({size / BUDGET:.2f}x {BUDGET}-byte budget)")


if __name__ == "__main__":
    main()
