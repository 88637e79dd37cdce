"""Reading an import file: CSV, TSV or semicolon-separated, optionally gzip- or zip-compressed (one member).

Encoding, delimiter and quote character are detected and can each be overridden. UTF-16 is recognised by
its byte order mark, or without one by its zero bytes (Excel's "Unicode text" is UTF-16 with tabs), and a
first line ``sep=;`` (which Excel reads and some systems write for it) declares the delimiter and is
skipped. The file is streamed: ``read_rows`` yields one record at a time, never the whole file. Line
numbers are those of the file as a text editor shows them (the header is line 1, or 2 after ``sep=``),
counted where the record starts, so a quoted newline inside a record does not shift the next record's
number. A ragged row (more or fewer cells than the header) is reported as a line error, never guessed.
"""

import codecs
import csv
import gzip
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, NamedTuple, cast

from flask_babel import gettext as _

from webapp.platform.errors import ValidationError

DELIMITERS = (",", ";", "\t", "|")
QUOTECHARS = ('"', "'")
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1252", "latin-1")
SAMPLE_BYTES = 64 * 1024
CHUNK_BYTES = 1024 * 1024
# Large-text fields hold 65535 characters; a cell may be larger than csv's default limit of 128 kB and is
# then rejected by validation, with its line, instead of stopping the whole file.
FIELD_SIZE_LIMIT = 64 * 1024 * 1024
# Excel's delimiter declaration, a first line of its own.
SEPARATOR_LINE = re.compile(r"sep=([,;\t|])", re.IGNORECASE)


class ImportFileError(ValidationError):
    """The file as a whole cannot be read (not a text file, no header, a broken compressed file)."""


# Known starts of files that are not text: (magic bytes, what the file looks like).
MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image"),
    (b"\xff\xd8\xff", "image"),
    (b"GIF87a", "image"),
    (b"GIF89a", "image"),
    (b"BM", "image"),
    (b"RIFF", "image"),
    (b"%PDF-", "pdf"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "xls"),
    (b"7z\xbc\xaf\x27\x1c", "archive"),
    (b"Rar!", "archive"),
)
# Control characters other than tab, newline, form feed and carriage return; more than 1 in 100 bytes is not text.
CONTROL_BYTES = bytes(set(range(32)) - {9, 10, 12, 13}) + b"\x7f"
CONTROL_SHARE = 0.01


def _not_text(kind: str) -> ImportFileError:
    """The refusal of a file that is not text, naming what it looks like."""
    messages = {
        "image": _("This file is an image, not a text file. Import a CSV or TSV file."),
        "pdf": _("This file is a PDF document, not a text file. Import a CSV or TSV file."),
        "xlsx": _("This file is an Excel workbook (.xlsx). Save it as CSV (File, Save as, CSV) and import that."),
        "xls": _("This file is an old Excel workbook (.xls). Save it as CSV (File, Save as, CSV) and import that."),
        "ods": _("This file is a spreadsheet (.ods). Save it as CSV and import that."),
        "docx": _("This file is a Word document, not a text file. Import a CSV or TSV file."),
        "archive": _("This file is a compressed archive that cannot be read. Use gzip or zip with one CSV file."),
    }
    return ImportFileError(messages.get(kind) or _("This file is not a text file. Import a CSV or TSV file."))


def _office_kind(archive: zipfile.ZipFile) -> str:
    """xlsx, ods or docx when the zip archive is an office document (which are zip files), else ''."""
    names = set(archive.namelist())
    if "mimetype" in names:
        mimetype = archive.read("mimetype")[:100]
        if b"spreadsheet" in mimetype:
            return "ods"
        if b"opendocument" in mimetype:
            return "docx"
    if "[Content_Types].xml" in names:
        if any(name.startswith("xl/") for name in names):
            return "xlsx"
        return "docx"
    return ""


def refuse_binary(head: bytes, *, utf16: bool = False) -> None:
    """Raise ``ImportFileError`` when the first bytes of a (decompressed) file are not text: a known magic
    number, a zero byte (outside UTF-16, where every other byte may be zero), or many control characters."""
    for magic, kind in MAGIC:
        if head.startswith(magic) and (kind != "image" or magic not in (b"BM", b"RIFF") or b"\x00" in head[:64]):
            raise _not_text(kind)
    if utf16 or not head:
        return
    if b"\x00" in head:
        raise _not_text("")
    control = len(head) - len(head.translate(None, CONTROL_BYTES))
    if control > len(head) * CONTROL_SHARE:
        raise _not_text("")


@dataclass(frozen=True)
class FileFormat:
    encoding: str
    delimiter: str
    quotechar: str


class Row(NamedTuple):
    """One record: its line number and either its cells by header, or why it cannot be read (then its cells
    as read); and its row as a spreadsheet counts it (the header is row 1, blank lines are rows, a cell with
    line breaks is one row).

    A named tuple rather than a dataclass: a million of them are made in an import, and this is cheaper."""

    line: int
    values: dict[str, str] | None
    error: str = ""
    row: int = 0
    cells: list[str] | None = None


def open_binary(path: str | Path) -> IO[bytes]:
    """The file's bytes, decompressed when it is gzip or a zip archive with one file in it."""
    path = Path(path)
    with path.open("rb") as probe:
        magic = probe.read(4)
    if magic[:2] == b"\x1f\x8b":
        return cast(IO[bytes], gzip.open(path, "rb"))  # a GzipFile is a binary file; typeshed types it otherwise
    if magic == b"PK\x03\x04":
        try:
            archive = zipfile.ZipFile(path)
        except zipfile.BadZipFile:
            raise ImportFileError(_("The zip file is damaged.")) from None
        if kind := _office_kind(archive):
            archive.close()
            raise _not_text(kind)
        members = [
            info for info in archive.infolist() if not info.is_dir() and not info.filename.startswith("__MACOSX/")
        ]
        if len(members) != 1:
            archive.close()
            raise ImportFileError(
                _("A zip file must hold exactly one file, this one holds %(count)s.", count=len(members))
            )
        return archive.open(members[0])
    return path.open("rb")


def detect_encoding(path: str | Path) -> str:
    """UTF-8 (with or without byte order mark) when the whole file decodes as such; UTF-16 by its byte order
    mark or its zero bytes; else Windows-1252, else Latin-1 (which decodes anything)."""
    with open_binary(path) as stream:
        head = _read(stream, SAMPLE_BYTES)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            return "utf-16"
        if utf16 := _utf16_without_bom(head):
            return utf16
        candidates = {name: codecs.getincrementaldecoder(name)() for name in ("utf-8", "cp1252")}
        chunk = head
        while True:
            for name, decoder in list(candidates.items()):
                try:
                    decoder.decode(chunk, final=not chunk)
                except UnicodeDecodeError:
                    del candidates[name]
            if not chunk or not candidates:
                break
            chunk = _read(stream, CHUNK_BYTES)
    for name in ("utf-8", "cp1252"):
        if name in candidates:
            return name
    return "latin-1"


def _read(stream: IO[bytes], size: int) -> bytes:
    try:
        return stream.read(size)
    except (OSError, EOFError, zipfile.BadZipFile, gzip.BadGzipFile):
        raise ImportFileError(_("The compressed file is damaged.")) from None


def _utf16_without_bom(head: bytes) -> str:
    """UTF-16 without a byte order mark: text mostly in Latin script has a zero byte in every other place
    (after each character's low byte in little-endian order, before it in big-endian). Else ''."""
    pairs = len(head) // 2
    if pairs < 2:
        return ""
    odd_zeros, even_zeros = head[1 : pairs * 2 : 2].count(0), head[0 : pairs * 2 : 2].count(0)
    if odd_zeros > pairs * 0.4 and even_zeros < pairs * 0.05:
        return "utf-16-le"
    if even_zeros > pairs * 0.4 and odd_zeros < pairs * 0.05:
        return "utf-16-be"
    return ""


def open_text(path: str | Path, encoding: str) -> IO[str]:
    if encoding not in ENCODINGS:
        raise ImportFileError(_("Unknown encoding %(name)s.", name=encoding))
    return io.TextIOWrapper(open_binary(path), encoding=encoding, newline="")


def detect_format(path: str | Path, *, encoding: str = "", delimiter: str = "", quotechar: str = "") -> FileFormat:
    """Detect what is not given: the encoding, then the delimiter and quote from the first 64 kB."""
    encoding = encoding or detect_encoding(path)
    with open_binary(path) as stream:
        head = _read(stream, SAMPLE_BYTES)
    utf16 = head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) or bool(_utf16_without_bom(head))
    refuse_binary(head, utf16=utf16 or encoding.startswith("utf-16"))
    if encoding == "utf-8" and head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    if not delimiter or not quotechar:
        with open_text(path, encoding) as text:
            try:
                sample = text.read(SAMPLE_BYTES)
            except UnicodeDecodeError:
                raise ImportFileError(_("The file is not encoded as %(name)s.", name=encoding)) from None
        if not sample.strip():
            raise ImportFileError(_("The file is empty."))
        first, _newline, rest = sample.partition("\n")
        declared = SEPARATOR_LINE.fullmatch(first.rstrip("\r"))
        sniffed_delimiter, sniffed_quote = _sniff(rest if declared else sample)
        delimiter = delimiter or (declared.group(1) if declared else sniffed_delimiter)
        quotechar = quotechar or sniffed_quote
    if delimiter not in DELIMITERS:
        raise ImportFileError(_("The delimiter must be a comma, semicolon, tab or vertical bar."))
    if quotechar not in QUOTECHARS:
        raise ImportFileError(_("The quote character must be a double or a single quote."))
    return FileFormat(encoding=encoding, delimiter=delimiter, quotechar=quotechar)


def _sniff(sample: str) -> tuple[str, str]:
    """csv.Sniffer on whole lines of the sample; when it fails or picks something odd, the candidate
    delimiter that occurs most often in the header line."""
    if "\n" in sample:
        sample = sample[: sample.rindex("\n") + 1]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS))
        if dialect.delimiter in DELIMITERS:
            quote = dialect.quotechar if dialect.quotechar in QUOTECHARS else '"'
            return dialect.delimiter, quote
    except csv.Error:
        pass
    header = sample.splitlines()[0] if sample else ""
    counts = {candidate: header.count(candidate) for candidate in DELIMITERS}
    best = max(DELIMITERS, key=lambda candidate: counts[candidate])
    return (best if counts[best] else ","), '"'


def _reader(text: IO[str], file_format: FileFormat):
    csv.field_size_limit(max(csv.field_size_limit(), FIELD_SIZE_LIMIT))
    return csv.reader(text, delimiter=file_format.delimiter, quotechar=file_format.quotechar, doublequote=True)


def read_header(path: str | Path, file_format: FileFormat) -> list[str]:
    with open_text(path, file_format.encoding) as text:
        return _header(_reader(text, file_format))


def _header(reader) -> list[str]:
    """The column names, from the first line (the second after a ``sep=`` line)."""
    try:
        header = next(reader, None)
        if header and SEPARATOR_LINE.fullmatch(reader.dialect.delimiter.join(header)):
            header = next(reader, None)
    except (csv.Error, UnicodeDecodeError) as error:
        raise ImportFileError(_("The header line cannot be read: %(error)s", error=error)) from None
    if not header or not any(cell.strip() for cell in header):
        raise ImportFileError(_("The first line must name the columns."))
    if any("\x00" in cell for cell in header):
        raise ImportFileError(
            _(
                "The first line holds zero bytes (NUL characters), so it is not text in this "
                "encoding. Choose the file's encoding, or save it as UTF-8."
            )
        )
    names = [cell.strip() for cell in header]
    if any(not name for name in names):
        raise ImportFileError(_("Every column in the first line needs a name."))
    seen: set[str] = set()
    for name in names:
        if name.lower() in seen:
            raise ImportFileError(_("The column %(name)s appears twice in the first line.", name=name))
        seen.add(name.lower())
    return names


def read_rows(path: str | Path, file_format: FileFormat, *, skip: int = 0) -> Iterator[Row]:
    """Yield every record after the header (blank lines left out), after skipping the first ``skip``
    records (records already imported by an earlier attempt; they are read but not split into cells)."""
    with open_text(path, file_format.encoding) as text:
        reader = _reader(text, file_format)
        header = _header(reader)
        width = len(header)
        for number, (line, row, cells) in enumerate(_records(reader, file_format), start=1):
            if number <= skip:
                continue
            if len(cells) != width:
                yield Row(
                    line,
                    None,
                    _("This line has %(cells)s cells, the header has %(width)s.", cells=len(cells), width=width),
                    row,
                    cells,
                )
                continue
            yield Row(line, dict(zip(header, cells, strict=True)), "", row)


def _records(reader, file_format: FileFormat) -> Iterator[tuple[int, int, list[str]]]:
    """(line number, spreadsheet row, cells) of every record that is not blank."""
    start = reader.line_num + 1
    row = 1  # the header's
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise ImportFileError(_("Line %(line)s cannot be read: %(error)s", line=start, error=error)) from None
        except UnicodeDecodeError:
            raise ImportFileError(
                _("Near line %(line)s the file is not encoded as %(name)s.", line=start, name=file_format.encoding)
            ) from None
        line, start = start, reader.line_num + 1
        row += 1
        if cells and (len(cells) > 1 or cells[0].strip()):
            yield line, row, cells


def count_records(path: str | Path, file_format: FileFormat) -> int:
    """How many records ``read_rows`` yields (for a progress bar's total)."""
    with open_text(path, file_format.encoding) as text:
        reader = _reader(text, file_format)
        _header(reader)
        return sum(1 for _record in _records(reader, file_format))
