"""Reading import files: encodings, delimiters, quotes, compression, ragged rows, huge fields; streamed."""

import gzip
import zipfile

import pytest

from webapp.imports import files as import_files
from webapp.imports.files import ImportFileError


def write(tmp_path, data: bytes, name: str = "file.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def rows_of(path, **overrides):
    file_format = import_files.detect_format(path, **overrides)
    return file_format, list(import_files.read_rows(path, file_format))


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("Name,City\nJosé,Zürich\n".encode(), "utf-8"),
        (b"\xef\xbb\xbf" + "Name,City\nJosé,Zürich\n".encode(), "utf-8-sig"),
        ("Name,City\nJosé,Zürich\n".encode("cp1252"), "cp1252"),
    ],
)
def test_encodings_are_detected(tmp_path, data, encoding):
    file_format, rows = rows_of(write(tmp_path, data))
    assert file_format.encoding == encoding
    assert rows[0].values == {"Name": "José", "City": "Zürich"}


@pytest.mark.parametrize(
    ("codec", "encoding"),
    [
        ("utf-16", "utf-16"),  # with a byte order mark: Excel's "Unicode text" (tabs, CRLF)
        ("utf-16-le", "utf-16-le"),  # without one, told by the zero bytes
        ("utf-16-be", "utf-16-be"),
    ],
)
def test_utf16_is_detected(tmp_path, codec, encoding):
    data = "Email\tName\r\nann@example.com\tJosé Zürich\r\nbob@example.com\t\u00c5sa\r\n".encode(codec)
    file_format, rows = rows_of(write(tmp_path, data))
    assert (file_format.encoding, file_format.delimiter) == (encoding, "\t")
    assert [(row.line, row.values) for row in rows] == [
        (2, {"Email": "ann@example.com", "Name": "José Zürich"}),
        (3, {"Email": "bob@example.com", "Name": "\u00c5sa"}),
    ]


def test_a_header_with_zero_bytes_is_refused_with_a_hint(tmp_path):
    path = write(tmp_path, "Email,Name\nann@example.com,Ann\n".encode("utf-16-le"))
    with pytest.raises(ImportFileError, match="zero bytes.*encoding"):
        import_files.read_header(path, import_files.detect_format(path, encoding="utf-8"))


def test_utf8_is_checked_over_the_whole_file_not_a_sample(tmp_path):
    data = b"Name\n" + b"plain\n" * 20000 + "€uro\n".encode("cp1252")
    file_format, rows = rows_of(write(tmp_path, data))
    assert file_format.encoding == "cp1252"
    assert rows[-1].values == {"Name": "€uro"}


def test_latin1_when_not_even_windows_1252(tmp_path):
    file_format, rows = rows_of(write(tmp_path, b"Name\n\x81x\xe9\n"))
    assert file_format.encoding == "latin-1"
    assert rows[0].values["Name"] == "\x81xé"


def test_encoding_can_be_overridden(tmp_path):
    path = write(tmp_path, "Name\nJosé\n".encode())
    _format, rows = rows_of(path, encoding="latin-1")
    assert rows[0].values["Name"] == "JosÃ©"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_are_detected(tmp_path, delimiter):
    text = delimiter.join(["Email", "FirstName", "LastName"]) + "\n"
    text += delimiter.join(["a@example.com", "Ann", "de Vries"]) + "\n"
    file_format, rows = rows_of(write(tmp_path, text.encode()))
    assert file_format.delimiter == delimiter
    assert rows[0].values == {"Email": "a@example.com", "FirstName": "Ann", "LastName": "de Vries"}


def test_a_single_column_file_and_overrides(tmp_path):
    path = write(tmp_path, b"Email\na@example.com\n")
    file_format, rows = rows_of(path)
    assert rows[0].values == {"Email": "a@example.com"}
    file_format, rows = rows_of(write(tmp_path, b"a;b\n1,2;3\n", "x.csv"), delimiter=";")
    assert rows[0].values == {"a": "1,2", "b": "3"}


def test_quoted_newlines_and_line_numbers(tmp_path):
    data = b'Name,Note\n"Ann","first\nsecond"\nBob,"say ""hi"""\n\nCy,x\n'
    _format, rows = rows_of(write(tmp_path, data))
    assert [(row.line, row.values) for row in rows] == [
        (2, {"Name": "Ann", "Note": "first\nsecond"}),
        (4, {"Name": "Bob", "Note": 'say "hi"'}),
        (6, {"Name": "Cy", "Note": "x"}),
    ]


@pytest.mark.parametrize(
    ("data", "overrides", "delimiter"),
    [
        (b"sep=;\r\nEmail;Name\r\na@example.com;Ann, B.\r\n", {}, ";"),
        (b'\xef\xbb\xbfSEP=,\nEmail,Name\na@example.com,"Ann, B."\n', {}, ","),
        (b"sep=,\nEmail;Name\na@example.com;Ann, B.\n", {"delimiter": ";"}, ";"),
    ],
)
def test_an_excel_separator_line_declares_the_delimiter_and_is_skipped(tmp_path, data, overrides, delimiter):
    path = write(tmp_path, data)
    file_format, rows = rows_of(path, **overrides)
    assert file_format.delimiter == delimiter
    assert import_files.read_header(path, file_format) == ["Email", "Name"]
    assert [(row.line, row.values) for row in rows] == [(3, {"Email": "a@example.com", "Name": "Ann, B."})]
    assert import_files.count_records(path, file_format) == 1


def test_single_quote_character(tmp_path):
    _format, rows = rows_of(write(tmp_path, b"Name;Note\n'A;B';x\n"), delimiter=";", quotechar="'")
    assert rows[0].values == {"Name": "A;B", "Note": "x"}


def test_ragged_rows_are_reported_not_guessed(tmp_path):
    _format, rows = rows_of(write(tmp_path, b"a,b,c\n1,2,3\n1,2\n1,2,3,4\n4,5,6\n"))
    assert [row.values for row in rows] == [{"a": "1", "b": "2", "c": "3"}, None, None, {"a": "4", "b": "5", "c": "6"}]
    assert "2 cells" in rows[1].error and "3" in rows[1].error
    assert rows[2].line == 4


def test_huge_fields_are_read(tmp_path):
    big = "x" * 500_000
    _format, rows = rows_of(write(tmp_path, f"Name,Note\nAnn,{big}\n".encode()))
    assert rows[0].values["Note"] == big


def test_gzip_and_zip(tmp_path):
    data = "Name;City\nJosé;Zürich\n".encode("cp1252")
    gz = write(tmp_path, gzip.compress(data), "f.csv.gz")
    _format, rows = rows_of(gz)
    assert rows[0].values == {"Name": "José", "City": "Zürich"}
    path = tmp_path / "f.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("inner.csv", data)
    _format, rows = rows_of(path)
    assert rows[0].values == {"Name": "José", "City": "Zürich"}


def test_a_zip_with_two_files_is_refused(tmp_path):
    path = tmp_path / "f.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", "a\n1\n")
        archive.writestr("b.csv", "a\n1\n")
    with pytest.raises(ImportFileError, match="exactly one"):
        import_files.detect_format(path)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "must name the columns"),
        (b"a,,c\n1,2,3\n", "needs a name"),
        (b"a,A\n1,2\n", "twice"),
    ],
)
def test_bad_headers(tmp_path, data, message):
    path = write(tmp_path, data)
    with pytest.raises(ImportFileError, match=message):
        file_format = import_files.detect_format(path, delimiter=",", quotechar='"', encoding="utf-8")
        import_files.read_header(path, file_format)


def test_skip_resumes_after_records_not_lines(tmp_path):
    path = write(tmp_path, b'a,b\n1,"x\ny"\n2,z\n3\n4,w\n')
    file_format = import_files.detect_format(path)
    assert import_files.count_records(path, file_format) == 4
    rows = list(import_files.read_rows(path, file_format, skip=2))
    assert [row.line for row in rows] == [5, 6]
    assert rows[0].values is None and rows[1].values == {"a": "4", "b": "w"}


def test_rows_are_streamed(tmp_path):
    path = write(tmp_path, b"a\n" + b"1\n" * 100_000)
    file_format = import_files.detect_format(path)
    rows = import_files.read_rows(path, file_format)
    assert next(rows).values == {"a": "1"}
    rows.close()


# --- files that are not text (issue 19, defect 1) ---------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(range(256)) * 40


def _xlsx(path):
    """A minimal workbook as Excel zips it: several members, ``[Content_Types].xml`` and ``xl/``."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", "<worksheet/>")
    return path


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (PNG, "x.csv", "an image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 10, "photo.csv", "an image"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "x.csv", "PDF"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500, "old.xls", r"old Excel workbook \(\.xls\).*CSV"),
        (b"Email,Name\nann@example.com,Ann\x00\x00\x01\x02\n", "x.csv", "not a text file"),
        (bytes(range(1, 32)) * 20 + b"Email\n", "x.csv", "not a text file"),
        (gzip.compress(PNG), "x.csv.gz", "an image"),
    ],
)
def test_files_that_are_not_text_are_refused_naming_what_they_look_like(tmp_path, data, name, message):
    path = write(tmp_path, data, name)
    with pytest.raises(ImportFileError, match=message):
        import_files.detect_format(path)
    with pytest.raises(ImportFileError, match=message):  # also when the encoding was chosen by hand
        import_files.detect_format(path, encoding="latin-1")


def test_an_xlsx_workbook_is_named_not_counted_as_zip_members(tmp_path):
    path = _xlsx(tmp_path / "export.xlsx")
    with pytest.raises(ImportFileError, match=r"Excel workbook \(\.xlsx\)\. Save it as CSV") as raised:
        import_files.detect_format(path)
    assert "zip" not in raised.value.message


def test_an_ods_spreadsheet_is_named(tmp_path):
    path = tmp_path / "export.ods"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<x/>")
    with pytest.raises(ImportFileError, match=r"spreadsheet \(\.ods\)"):
        import_files.detect_format(path)


def test_text_with_tabs_form_feeds_and_utf16_zero_bytes_is_still_text(tmp_path):
    assert rows_of(write(tmp_path, b"Email\tNote\r\nann@example.com\tpage\x0cbreak\r\n"))[1][0].values == {
        "Email": "ann@example.com",
        "Note": "page\x0cbreak",
    }
    utf16 = "Email\tName\r\nann@example.com\tAnn\r\n".encode("utf-16")
    assert rows_of(write(tmp_path, utf16, "u.csv"))[0].encoding == "utf-16"
