"""Question imports huge in rows, columns, cells or unzipped size are refused while being read; CSV injection."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator

import openpyxl
import pytest

from exams.bank import importer, services
from exams.bank.models import Question, QuestionKind, QuestionStatus
from tests.exams.bank.bank_data import HEADER, catalogue_item, csv_bytes, question_count, single_row, tf_row

SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
SHEET_TAIL = "</sheetData></worksheet>"


def refusal(data: bytes, filename: str = "q.csv") -> importer.FileProblemsError:
    """Read a file that must be refused; return the refusal (its problems and how many rows were read)."""
    with pytest.raises(importer.FileProblemsError) as caught:
        importer.read_file(filename, data)
    return caught.value


def refused_by_service(item_id: int, filename: str, data: bytes) -> list[str]:
    """Import through the service; it must refuse and store nothing."""
    with pytest.raises(services.QuestionImportError) as caught:
        services.import_questions(item_id=item_id, filename=filename, data=data)
    assert "没有导入任何题目" in caught.value.message
    return [str(p) for p in caught.value.problems]


def inline_row(number: int, texts: Iterable[str]) -> str:
    """One worksheet row of inline-string cells."""
    cells = "".join(f'<c t="inlineStr"><is><t>{text}</t></is></c>' for text in texts)
    return f'<row r="{number}">{cells}</row>'


def workbook(sheet_chunks: Iterable[str], shared_strings: Iterable[str] | None = None) -> bytes:
    """An XLSX built part by part; the sheet (and shared strings) are streamed into the zip from generators."""
    shared_type = (
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    )
    shared_rel = (
        '<Relationship Id="rId2" Target="sharedStrings.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/>'
    )
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            f"{shared_type if shared_strings is not None else ''}</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Target="xl/workbook.xml" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="题库" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Target="worksheets/sheet1.xml" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
            f"{shared_rel if shared_strings is not None else ''}</Relationships>"
        ),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
        streams = {"xl/worksheets/sheet1.xml": sheet_chunks}
        if shared_strings is not None:
            streams["xl/sharedStrings.xml"] = shared_strings
        for name, chunks in streams.items():
            with archive.open(name, "w", force_zip64=True) as part:
                pending: list[str] = []
                for chunk in chunks:
                    pending.append(chunk)
                    if len(pending) >= 10_000:  # write in large pieces: one zlib call per row would be slow
                        part.write("".join(pending).encode("utf-8"))
                        pending.clear()
                part.write("".join(pending).encode("utf-8"))
    return buffer.getvalue()


def sheet(rows: Iterable[str]) -> Iterator[str]:
    """The worksheet XML around the given rows."""
    yield SHEET_HEAD
    yield from rows
    yield SHEET_TAIL


# --- CSV: rows, columns, cells, questions --------------------------------------------------------------------


def test_a_seven_million_row_csv_is_refused_after_the_row_limit(db) -> None:
    item = catalogue_item()
    data = ",".join(HEADER).encode() + b"\n" * 7_000_000
    refused = refusal(data)
    assert [str(p) for p in refused.problems] == ["第20001行：文件超过了20000行（含空行），已停止读取。"]
    assert refused.rows_read == 20_001
    assert refused_by_service(item.id, "q.csv", data) == ["第20001行：文件超过了20000行（含空行），已停止读取。"]
    assert question_count() == 0


def test_a_200000_column_csv_is_refused_at_its_first_row(db) -> None:
    data = (",".join(HEADER) + "," * 200_000 + "x\n").encode()
    refused = refusal(data)
    assert refused.rows_read == 1
    assert [str(p) for p in refused.problems] == ["第1行：文件中的单元格超过了100000个（含空单元格），已停止读取。"]
    wide = (",".join(HEADER) + "," * 60 + "x\n").encode()
    assert [str(p) for p in refusal(wide).problems] == ["第1行：第BU列有内容，但最多只能有50列。"]


def test_trailing_empty_columns_are_no_problem(db) -> None:
    item = catalogue_item()
    rows = [[*single_row(f"题{n}"), *[""] * 80] for n in range(3)]
    added = services.import_questions(
        item_id=item.id, filename="q.csv", data=csv_bytes(rows, header=[*HEADER, *[""] * 80])
    )
    assert len(added) == 3


def test_a_huge_cell_is_refused_quoting_only_its_start(db) -> None:
    item = catalogue_item()
    data = csv_bytes([single_row("长" * 20_000)])
    refused = refusal(data)
    assert refused.rows_read == 2
    [message] = [str(p) for p in refused.problems]
    assert message == "第2行B列：内容过长（20000个字符，最多10000个）：“长长长长长长长长长长长长长长长长长长长长…”。"
    runaway = ",".join(HEADER).encode() + b'\n"' + b"x" * 200_000
    assert [str(p) for p in refusal(runaway).problems] == ["第2行：内容过长（超过10000个字符）。"]
    assert refused_by_service(item.id, "q.csv", data) == [message]


def test_more_questions_than_allowed_are_refused_while_reading(db) -> None:
    rows = [tf_row(f"判断题{n}") for n in range(5001)]
    refused = refusal(csv_bytes(rows))
    assert [str(p) for p in refused.problems] == ["一次最多导入5000道题，文件中的题目超过了这个数量。"]
    assert refused.rows_read == 5002  # the header and 5,001 questions: not one row more


def test_the_limits_are_settings(app, db, monkeypatch) -> None:
    item = catalogue_item()
    monkeypatch.setitem(app.config, "QUESTION_IMPORT_MAX_QUESTIONS", 2)
    monkeypatch.setitem(app.config, "QUESTION_IMPORT_MAX_BYTES", 10_000)
    data = csv_bytes([tf_row("一"), tf_row("二"), tf_row("三")])
    assert refused_by_service(item.id, "q.csv", data) == ["一次最多导入2道题，文件中的题目超过了这个数量。"]
    big = csv_bytes([tf_row(f"题{n}" * 50) for n in range(40)])
    assert refused_by_service(item.id, "q.csv", big) == ["文件超过了9.77 KB，未导入。"]
    assert question_count() == 0


def test_messages_quote_at_most_an_excerpt_and_the_list_is_capped(db) -> None:
    item = catalogue_item()
    rows = [["单选题" + "题" * 5000, "题干", "甲", "乙", "", "", "", "", "A", "", "", "", ""]]
    rows += [single_row(f"题{n}", answer="Z") for n in range(300)]
    problems = refused_by_service(item.id, "q.csv", csv_bytes(rows))
    assert problems[0] == "第2行A列：题型“单选题题题题题题题题题题题题题题题题题题…”无效，应为判断题、单选题或多选题。"
    assert len(problems) == 201
    assert problems[-1] == "另有101处错误未列出，请先改正以上错误。"
    assert max(len(p) for p in problems) < 80


# --- XLSX: rows, cells, shared strings, zip bombs ------------------------------------------------------------


def test_an_xlsx_with_a_million_rows_is_refused_before_openpyxl_reads_it(db) -> None:
    # Small once unzipped (18 MB), but openpyxl would walk all of it just to size a sheet without <dimension>.
    rows = (f'<row r="{n}"/>' for n in range(2, 1_000_001))
    data = workbook(sheet([inline_row(1, HEADER), *rows]))
    refused = refusal(data, "q.xlsx")
    assert [str(p) for p in refused.problems] == ["Excel文件超过了20000行（含空行），无法导入。"]
    assert refused.rows_read == 0


def test_an_xlsx_whose_last_row_is_a_million_rows_down_stops_at_the_row_limit(db) -> None:
    data = workbook(sheet([inline_row(1, HEADER), inline_row(1_000_000, tf_row("最后一题"))]))
    refused = refusal(data, "q.xlsx")
    assert [str(p) for p in refused.problems] == ["第20001行：文件超过了20000行（含空行），已停止读取。"]
    assert refused.rows_read == 20_001


def test_an_xlsx_with_a_million_filled_rows_is_refused_unread_by_its_unzipped_size(db) -> None:
    item = catalogue_item()
    rows = (inline_row(n, ["判断题"]) for n in range(2, 1_000_001))
    data = workbook(sheet([inline_row(1, HEADER), *rows]))
    assert len(data) < 16 * 1024 * 1024  # the upload itself is within the limit
    refused = refusal(data, "q.xlsx")
    assert refused.rows_read == 0
    expected = "Excel文件解压后超过32 MB，无法导入（请删除无关的工作表、图片和格式后再试）。"
    assert [str(p) for p in refused.problems] == [expected]
    assert refused_by_service(item.id, "q.xlsx", data) == [expected]


def test_a_300_megabyte_shared_string_is_refused_unread(db) -> None:
    def strings() -> Iterator[str]:
        yield '<?xml version="1.0" encoding="UTF-8"?>'
        yield '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
        yield "<si><t>"
        for _ in range(300):
            yield "x" * 1024 * 1024
        yield "</t></si></sst>"

    data = workbook(sheet([inline_row(1, HEADER), '<row r="2"><c t="s"><v>0</v></c></row>']), strings())
    refused = refusal(data, "q.xlsx")
    assert refused.rows_read == 0
    assert "解压后超过32 MB" in str(refused.problems[0])


def test_too_many_cells_or_shared_strings_are_refused_before_parsing(db) -> None:
    wide = workbook(sheet([inline_row(1, HEADER), '<row r="2">' + "<c/>" * 200_000 + "</row>"]))
    refused = refusal(wide, "q.xlsx")
    assert refused.rows_read == 0
    assert [str(p) for p in refused.problems] == ["Excel文件中的单元格超过了100000个（含空单元格），无法导入。"]
    many = ("<si><t>a</t></si>" for _ in range(200_000))
    data = workbook(sheet([inline_row(1, HEADER)]), ["<sst>", *many, "</sst>"])
    assert [str(p) for p in refusal(data, "q.xlsx").problems] == [
        "Excel文件中的单元格超过了100000个（含空单元格），无法导入。"
    ]


def test_a_workbook_without_a_worksheet_or_with_broken_xml_is_unreadable(db) -> None:
    broken = workbook([SHEET_HEAD, "<row r='1'><c t='inlineStr'><is><t>题型</t></is>"])
    assert [str(p) for p in refusal(broken, "q.xlsx").problems] == ["无法读取Excel文件：文件已损坏或不是.xlsx格式。"]


def test_a_streamed_xlsx_within_the_limits_imports(db) -> None:
    item = catalogue_item()
    data = workbook(sheet([inline_row(1, HEADER), inline_row(2, tf_row("流式写入的题目"))]))
    [added] = services.import_questions(item_id=item.id, filename="q.xlsx", data=data)
    assert added.stem == "流式写入的题目"


# --- CSV injection -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stem", "char"),
    [("+1+1", "+"), ("-2+3+cmd|' /C calc'!A0", "-"), ("@SUM(A1:A9)", "@"), ("\t@cmd", "@")],
)
def test_formula_like_starts_are_refused_on_import(db, stem, char) -> None:
    item = catalogue_item()
    problems = refused_by_service(item.id, "q.csv", csv_bytes([single_row(stem)]))
    assert problems == [f"第2行B列：内容不能以“{char}”开头（在Excel中打开时可能被当作公式执行），纯数字（如-5）除外。"]


def test_plain_numbers_may_start_with_a_sign(db) -> None:
    item = catalogue_item()
    rows = [single_row("零下几度需要防冻？", ("-5", "+3", "-0.5", "10%"), "A")]
    [question] = services.import_questions(item_id=item.id, filename="q.csv", data=csv_bytes(rows))
    assert question.option_list == ["-5", "+3", "-0.5", "10%"]


def _stored_before_the_rule(item_id: int) -> Question:
    """A question stored before formula-like starts were refused (written directly, as old data would be)."""
    from opcert.extensions import db as _db

    question = Question(
        item_id=item_id,
        kind=QuestionKind.SINGLE,
        stem="@SUM(1+1)*cmd|' /C calc'!A0",
        options='["=HYPERLINK(\\"http://x\\")", "-5", "+甲", "乙"]',
        answer="D",
        knowledge_point="",
        difficulty=3,
        explanation="-2+3",
        status=QuestionStatus.ACTIVE,
        content_hash="legacy",
    )
    _db.session.add(question)
    _db.session.flush()
    return question


def test_csv_export_escapes_every_formula_like_cell(db) -> None:
    item = catalogue_item()
    _stored_before_the_rule(item.id)
    _name, data = services.export_questions(item_id=item.id, file_format="csv")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    cells = [cell for row in rows for cell in row if cell]
    assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert rows[1][:6] == ["单选题", "'@SUM(1+1)*cmd|' /C calc'!A0", '\'=HYPERLINK("http://x")', "'-5", "'+甲", "乙"]


def test_xlsx_export_marks_formula_like_cells_as_text(db) -> None:
    item = catalogue_item()
    _stored_before_the_rule(item.id)
    _name, data = services.export_questions(item_id=item.id, file_format="xlsx")
    row = next(openpyxl.load_workbook(io.BytesIO(data)).worksheets[0].iter_rows(min_row=2, max_row=2))
    assert [(c.value, c.data_type, c.quotePrefix) for c in row[1:4]] == [
        ("@SUM(1+1)*cmd|' /C calc'!A0", "s", True),
        ('=HYPERLINK("http://x")', "s", True),
        ("-5", "s", True),
    ]
    assert (row[5].value, row[5].quotePrefix) == ("乙", False)


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_an_exported_negative_number_imports_back_unchanged(db, file_format) -> None:
    item = catalogue_item()
    services.import_questions(
        item_id=item.id, filename="q.csv", data=csv_bytes([single_row("几度？", ("-5", "+3", "0"), "A")])
    )
    name, data = services.export_questions(item_id=item.id, file_format=file_format)
    [copied] = services.import_questions(item_id=catalogue_item("1.3").id, filename=name, data=data)
    assert copied.option_list == ["-5", "+3", "0"]
