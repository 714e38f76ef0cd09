"""The question file format (docs/question-bank-format.md): reading CSV/XLSX, checking rows, writing exports.

Reading never touches the database: it turns a file into cleaned rows or a list of problems, each with the row
number and column letter a person sees in Excel.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import re
import warnings
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NoReturn

from flask import current_app
from flask_babel import gettext as _

from exams.bank.models import OPTION_LETTERS, Question, QuestionKind, QuestionStatus
from opcert.web import format_size

MAX_TEXT = 2000
MAX_KNOWLEDGE_POINT = 60
DEFAULT_DIFFICULTY = 3
MIN_OPTIONS = {QuestionKind.SINGLE: 2, QuestionKind.MULTIPLE: 3}

# The file's own vocabulary: fixed Chinese words, independent of the page language.
FIELDS = ("kind", "stem", *OPTION_LETTERS, "answer", "knowledge_point", "difficulty", "explanation", "status")
EXPORT_HEADERS = ("题型", "题干", *OPTION_LETTERS, "答案", "知识点", "难度", "解析", "状态")
REQUIRED_FIELDS = ("kind", "stem", "answer")
HEADER_ALIASES: dict[str, str] = {
    "题型": "kind",
    "kind": "kind",
    "题干": "stem",
    "stem": "stem",
    "答案": "answer",
    "answer": "answer",
    "知识点": "knowledge_point",
    "knowledge_point": "knowledge_point",
    "难度": "difficulty",
    "difficulty": "difficulty",
    "解析": "explanation",
    "explanation": "explanation",
    "状态": "status",
    "status": "status",
    **{letter.lower(): letter for letter in OPTION_LETTERS},
    **{f"选项{letter.lower()}": letter for letter in OPTION_LETTERS},
    **{f"option_{letter.lower()}": letter for letter in OPTION_LETTERS},
}
KIND_WORDS: dict[str, QuestionKind] = {
    "判断": QuestionKind.TRUE_FALSE,
    "判断题": QuestionKind.TRUE_FALSE,
    "true_false": QuestionKind.TRUE_FALSE,
    "单选": QuestionKind.SINGLE,
    "单选题": QuestionKind.SINGLE,
    "single": QuestionKind.SINGLE,
    "多选": QuestionKind.MULTIPLE,
    "多选题": QuestionKind.MULTIPLE,
    "multiple": QuestionKind.MULTIPLE,
}
KIND_WORD = {QuestionKind.TRUE_FALSE: "判断题", QuestionKind.SINGLE: "单选题", QuestionKind.MULTIPLE: "多选题"}
STATUS_WORDS: dict[str, QuestionStatus] = {
    "草稿": QuestionStatus.DRAFT,
    "draft": QuestionStatus.DRAFT,
    "启用": QuestionStatus.ACTIVE,
    "有效": QuestionStatus.ACTIVE,
    "active": QuestionStatus.ACTIVE,
    "停用": QuestionStatus.RETIRED,
    "retired": QuestionStatus.RETIRED,
}
STATUS_WORD = {QuestionStatus.DRAFT: "草稿", QuestionStatus.ACTIVE: "启用", QuestionStatus.RETIRED: "停用"}
TRUE_WORDS = frozenset({"对", "正确", "√", "✓", "是", "t", "true", "y", "yes"})
FALSE_WORDS = frozenset({"错", "错误", "×", "✗", "否", "f", "false", "n", "no"})
ANSWER_SEPARATORS = re.compile(r"[\s,，、;；]+")
SPACES = re.compile(r"\s+")


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with an import file: row and column as the spreadsheet shows them (None: whole file)."""

    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        if self.row is not None and self.column:
            return _("第%(row)d行%(column)s列：%(message)s", row=self.row, column=self.column, message=self.message)
        if self.row is not None:
            return _("第%(row)d行：%(message)s", row=self.row, message=self.message)
        return self.message


@dataclasses.dataclass(frozen=True)
class QuestionData:
    """A checked question, ready to be stored."""

    kind: QuestionKind
    stem: str
    options: tuple[str, ...]
    answer: str
    knowledge_point: str
    difficulty: int
    explanation: str
    status: QuestionStatus

    @property
    def content_hash(self) -> str:
        """What makes two questions the same: kind, stem and the set of options, ignoring spacing."""
        return content_hash(self.kind, self.stem, self.options)


@dataclasses.dataclass(frozen=True)
class FileRow:
    """A data row: its number in the file and each field's (column letter, text)."""

    number: int
    cells: dict[str, tuple[str, str]]


class FileProblemsError(Exception):
    """The file could not be read or has errors; `problems` lists them all, `rows_read` how far reading went."""

    def __init__(self, problems: Sequence[Problem], rows_read: int = 0) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = list(problems)
        self.rows_read = rows_read


def content_hash(kind: QuestionKind, stem: str, options: Iterable[str]) -> str:
    """SHA-256 over the normalised kind, stem and sorted options."""
    payload = json.dumps([kind.value, _squash(stem), sorted(_squash(o) for o in options)], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _squash(text: str) -> str:
    return SPACES.sub(" ", text).strip()


def column_letter(index: int) -> str:
    """Spreadsheet column name of a 0-based index (0 → A, 26 → AA)."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


# --- reading files ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ImportLimits:
    """How much of a file the reader takes before refusing it (settings QUESTION_IMPORT_*), checked while reading."""

    max_bytes: int = 16 * 1024 * 1024
    max_questions: int = 5000
    max_rows: int = 20_000
    max_columns: int = 50
    max_cell_chars: int = 10_000
    max_cells: int = 100_000
    max_unpacked_bytes: int = 32 * 1024 * 1024

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ImportLimits:
        """The limits set in the application's configuration."""
        return cls(
            max_bytes=int(config["QUESTION_IMPORT_MAX_BYTES"]),
            max_questions=int(config["QUESTION_IMPORT_MAX_QUESTIONS"]),
            max_rows=int(config["QUESTION_IMPORT_MAX_ROWS"]),
            max_columns=int(config["QUESTION_IMPORT_MAX_COLUMNS"]),
            max_cell_chars=int(config["QUESTION_IMPORT_MAX_CELL_CHARS"]),
            max_cells=int(config["QUESTION_IMPORT_MAX_CELLS"]),
            max_unpacked_bytes=int(config["QUESTION_IMPORT_MAX_UNPACKED_BYTES"]),
        )


# An XLSX part other than the worksheets and the shared strings (workbook, styles, relationships, properties) is
# parsed whole by openpyxl, slowly: real ones are a few kilobytes, so anything larger is refused unread.
MAX_XLSX_OTHER_PART_BYTES = 1024 * 1024
MAX_XLSX_PARTS = 1000
XML_CELL = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s/>]")
XML_SHARED_STRING = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s/>]")
XML_ROW = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s/>]")
XML_ELEMENT = re.compile(rb"<[A-Za-z_]")
XML_ELEMENTS_PER_CELL = 4  # <c>, <v> or <is><t>, with room to spare
# What a spreadsheet may take for the start of a formula (or a DDE command) when it opens a file.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?%?")


def excerpt(text: str, length: int = 20) -> str:
    """The start of a cell's text for a message: spacing squashed, at most `length` characters and an ellipsis."""
    squashed = SPACES.sub(" ", text).strip()
    return squashed if len(squashed) <= length else squashed[:length] + "…"


def read_file(filename: str, data: bytes, limits: ImportLimits | None = None) -> list[FileRow]:
    """Decode a CSV or XLSX file into data rows; raise FileProblemsError listing every structural problem.

    Reading stops at the first limit the file goes past (ImportLimits), so an oversized file costs little work.
    """
    limits = limits or ImportLimits.from_config(current_app.config)
    if len(data) > limits.max_bytes:
        raise FileProblemsError(
            [Problem(None, None, _("文件超过了%(size)s，未导入。", size=format_size(limits.max_bytes)))]
        )
    if not data.strip():
        raise FileProblemsError([Problem(None, None, _("文件是空的。"))])
    lower = filename.lower()
    if data.startswith(b"\xd0\xcf\x11\xe0") or lower.endswith(".xls"):
        raise FileProblemsError(
            [Problem(None, None, _("不支持旧版Excel（.xls）文件，请另存为.xlsx或UTF-8编码的CSV后再导入。"))]
        )
    if data.startswith(b"PK\x03\x04") or lower.endswith((".xlsx", ".xlsm")):
        table = _read_xlsx(data, limits)
    elif lower.endswith((".csv", ".txt")):
        table = _read_csv(data, limits)
    else:
        raise FileProblemsError([Problem(None, None, _("只能导入.csv或.xlsx文件。"))])
    return _rows_from_table(table)


class TableReader:
    """Takes a file's records one at a time and refuses the file as soon as it goes past a limit.

    `rows_read` says how far reading went (a refusal carries it: the tests check that it came early).
    """

    def __init__(self, limits: ImportLimits) -> None:
        self.limits = limits
        self.rows_read = 0
        self.cells_read = 0
        self.filled_rows = 0
        self.table: list[list[tuple[str, str]]] = []

    def _refuse(self, problem: Problem) -> NoReturn:
        raise FileProblemsError([problem], rows_read=self.rows_read)

    def take(self, record: Sequence[str]) -> None:
        """Check one record (a row of cell texts) and keep it, or raise FileProblemsError."""
        limits = self.limits
        self.rows_read += 1
        number = self.rows_read
        if number > limits.max_rows:
            self._refuse(Problem(number, None, _("文件超过了%(n)d行（含空行），已停止读取。", n=limits.max_rows)))
        self.cells_read += len(record)
        if self.cells_read > limits.max_cells:
            message = _("文件中的单元格超过了%(n)d个（含空单元格），已停止读取。", n=limits.max_cells)
            self._refuse(Problem(number, None, message))
        width = len(record)
        while width and not record[width - 1].strip():
            width -= 1
        if width > limits.max_columns:
            message = _(
                "第%(column)s列有内容，但最多只能有%(n)d列。", column=column_letter(width - 1), n=limits.max_columns
            )
            self._refuse(Problem(number, None, message))
        for index in range(width):
            value = record[index]
            if len(value) > limits.max_cell_chars:
                message = _(
                    "内容过长（%(count)d个字符，最多%(n)d个）：“%(start)s”。",
                    count=len(value),
                    n=limits.max_cell_chars,
                    start=excerpt(value),
                )
                self._refuse(Problem(number, column_letter(index), message))
        if any(record[index].strip() for index in range(width)):
            self.filled_rows += 1
            if self.filled_rows > limits.max_questions + 1:  # the header is the first filled row
                message = _("一次最多导入%(n)d道题，文件中的题目超过了这个数量。", n=limits.max_questions)
                self._refuse(Problem(None, None, message))
        self.table.append([(column_letter(index), _unescape(record[index])) for index in range(width)])


def _unescape(value: str) -> str:
    """Drop the apostrophe an export puts before a formula-like start (an exported file imports back unchanged)."""
    if value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def _read_csv(data: bytes, limits: ImportLimits) -> list[list[tuple[str, str]]]:
    """Rows of (column letter, text); UTF-8 only, with or without BOM."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileProblemsError([Problem(None, None, _("文件是UTF-16编码，请另存为“CSV UTF-8（逗号分隔）”后再导入。"))])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        try:
            data.decode("gb18030")
        except UnicodeDecodeError:
            hint = _("文件不是UTF-8编码，无法识别其中的文字。请另存为“CSV UTF-8（逗号分隔）”后再导入。")
        else:
            hint = _(
                "文件不是UTF-8编码（看起来是GBK/GB18030编码，Excel“CSV（逗号分隔）”默认如此保存）。"
                "请另存为“CSV UTF-8（逗号分隔）”后再导入。"
            )
        raise FileProblemsError([Problem(line, None, hint)]) from None
    if "\x00" in text:
        raise FileProblemsError([Problem(None, None, _("文件中含有空字符，不是有效的文本CSV文件。"))])
    reader = TableReader(limits)
    # csv's own field_size_limit (131,072 characters) bounds a runaway quoted field; the tighter cell limit is ours.
    records = csv.reader(io.StringIO(text, newline=""))
    try:
        for record in records:
            reader.take(record)
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            message = _("内容过长（超过%(n)d个字符）。", n=limits.max_cell_chars)
            raise FileProblemsError([Problem(records.line_num, None, message)]) from None
        raise FileProblemsError([Problem(None, None, _("CSV格式有误：%(error)s", error=str(exc)))]) from None
    return reader.table


def _read_xlsx(data: bytes, limits: ImportLimits) -> list[list[tuple[str, str]]]:
    """Rows of (column letter, text) from the first sheet; formulas, dates and errors are refused cell by cell."""
    import openpyxl

    problems: list[Problem] = []
    reader = TableReader(limits)
    try:
        _check_xlsx_parts(data, limits)
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it ignores; they do not matter for the content.
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
        try:
            _read_first_sheet(workbook, reader, problems)
        finally:
            workbook.close()
    except FileProblemsError:
        raise
    except Exception as exc:
        # A damaged workbook makes zipfile, zlib, the XML parser or openpyxl fail in many different ways; to the
        # person importing, each one is the same unreadable file.
        current_app.logger.info("unreadable XLSX import: %r", exc)
        raise FileProblemsError([Problem(None, None, _("无法读取Excel文件：文件已损坏或不是.xlsx格式。"))]) from None
    if problems:
        raise FileProblemsError(problems)
    return reader.table


def _read_first_sheet(workbook: Any, reader: TableReader, problems: list[Problem]) -> None:
    from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

    sheet = workbook.worksheets[0]
    # The sheet's own dimension may claim 16,384 columns; without it rows hold only their real cells.
    sheet.reset_dimensions()
    for number, cells in enumerate(sheet.iter_rows(), start=1):
        row: list[str] = []
        for index, cell in enumerate(cells):
            letter = column_letter(index)
            value: Any = getattr(cell, "value", None)
            data_type = getattr(cell, "data_type", "n")
            if data_type == "f" or isinstance(value, ArrayFormula | DataTableFormula):
                problems.append(Problem(number, letter, _("不允许使用公式，请改为直接填写内容。")))
                value = ""
            elif data_type == "e":
                problems.append(Problem(number, letter, _("单元格是错误值（%(value)s）。", value=excerpt(str(value)))))
                value = ""
            elif data_type == "d":
                problems.append(Problem(number, letter, _("不允许使用日期格式，请改为文本。")))
                value = ""
            row.append(_cell_text(value))
        reader.take(row)


def _check_xlsx_parts(data: bytes, limits: ImportLimits) -> None:
    """Refuse an XLSX whose parts would take too much work, before openpyxl parses any of them.

    The sizes are those the zip declares (Python's zipfile never inflates a part beyond its declared size); the
    counts come from a fast scan of the worksheets and shared strings. openpyxl reads a worksheet without a
    <dimension> element through once just to size it, so rows and elements are bounded before it starts.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = archive.infolist()
        if len(parts) > MAX_XLSX_PARTS:
            raise FileProblemsError([Problem(None, None, _("Excel文件包含的部件过多，无法导入。"))])
        unpacked = sum(part.file_size for part in parts)
        if unpacked > limits.max_unpacked_bytes:
            message = _(
                "Excel文件解压后超过%(size)s，无法导入（请删除无关的工作表、图片和格式后再试）。",
                size=format_size(limits.max_unpacked_bytes),
            )
            raise FileProblemsError([Problem(None, None, message)])
        budget = {
            "cells": limits.max_cells,
            "strings": limits.max_cells,
            "rows": limits.max_rows,
            "elements": XML_ELEMENTS_PER_CELL * limits.max_cells + limits.max_rows,
        }
        for part in parts:
            name = part.filename.lower()
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                patterns = {"cells": XML_CELL, "rows": XML_ROW, "elements": XML_ELEMENT}
            elif name.endswith("sharedstrings.xml"):
                patterns = {"strings": XML_SHARED_STRING, "elements": XML_ELEMENT}
            elif part.file_size > MAX_XLSX_OTHER_PART_BYTES and name.endswith((".xml", ".rels")):
                message = _("Excel文件中的“%(part)s”部分异常庞大，无法导入。", part=excerpt(part.filename, 40))
                raise FileProblemsError([Problem(None, None, message)])
            else:
                continue
            _spend(archive, part, patterns, budget)
            if budget["rows"] < 0:
                message = _("Excel文件超过了%(n)d行（含空行），无法导入。", n=limits.max_rows)
                raise FileProblemsError([Problem(None, None, message)])
            if min(budget.values()) < 0:
                message = _("Excel文件中的单元格超过了%(n)d个（含空单元格），无法导入。", n=limits.max_cells)
                raise FileProblemsError([Problem(None, None, message)])


def _spend(
    archive: zipfile.ZipFile, part: zipfile.ZipInfo, patterns: Mapping[str, re.Pattern[bytes]], budget: dict[str, int]
) -> None:
    """Subtract from `budget` how often each pattern occurs in the part, read in chunks; stop once one is spent."""
    carry = b""
    with archive.open(part) as stream:
        while chunk := stream.read(1024 * 1024):
            buffer = carry + chunk
            # A tag cut in two by the chunk boundary is counted with the next chunk.
            cut = buffer.rfind(b"<")
            end = cut if cut >= 0 else len(buffer)
            carry = buffer[end:]
            for key, pattern in patterns.items():
                budget[key] -= len(pattern.findall(buffer, 0, end))
            if min(budget.values()) < 0:
                return
    for key, pattern in patterns.items():
        budget[key] -= len(pattern.findall(carry))


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "对" if value else "错"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _rows_from_table(table: list[list[tuple[str, str]]]) -> list[FileRow]:
    """Map the header onto fields and the following rows onto FileRows; skip blank rows."""
    header_index = next((i for i, row in enumerate(table) if any(v.strip() for _, v in row)), None)
    if header_index is None:
        raise FileProblemsError([Problem(None, None, _("文件是空的。"))])
    header_number = header_index + 1
    problems: list[Problem] = []
    columns: dict[str, str] = {}
    seen: dict[str, str] = {}
    for letter, raw in table[header_index]:
        name = raw.strip()
        if not name:
            continue
        field = HEADER_ALIASES.get(SPACES.sub("", name).lower())
        if field is None:
            problems.append(Problem(header_number, letter, _("无法识别的列名“%(name)s”。", name=excerpt(name))))
        elif field in seen:
            problems.append(
                Problem(header_number, letter, _("列“%(name)s”与%(other)s列重复。", name=name, other=seen[field]))
            )
        else:
            seen[field] = letter
            columns[letter] = field
    missing = [EXPORT_HEADERS[FIELDS.index(f)] for f in REQUIRED_FIELDS if f not in seen]
    if missing:
        problems.append(Problem(header_number, None, _("缺少必需的列：%(names)s。", names="、".join(missing))))
    if problems:
        raise FileProblemsError(problems)
    rows: list[FileRow] = []
    for offset, record in enumerate(table[header_index + 1 :], start=header_index + 2):
        if not any(v.strip() for _, v in record):
            continue
        cells: dict[str, tuple[str, str]] = {}
        for letter, value in record:
            field = columns.get(letter)
            if field is not None:
                cells[field] = (letter, value)
            elif value.strip():
                problems.append(Problem(offset, letter, _("此列没有列名，内容无法识别。")))
        rows.append(FileRow(offset, cells))
    if not rows and not problems:
        problems.append(Problem(None, None, _("文件中没有题目（只有表头）。")))
    if problems:
        raise FileProblemsError(problems)
    return rows


# --- checking one question -------------------------------------------------------------------------------------


def check_question(values: Mapping[str, str]) -> tuple[QuestionData | None, dict[str, str]]:
    """Clean one question's raw texts (keys from FIELDS); return the data, or None and field → message."""
    errors: dict[str, str] = {}
    text = {field: (values.get(field) or "").strip() for field in FIELDS}
    for field, value in text.items():
        if value.startswith("="):
            errors[field] = _("不允许使用公式（内容不能以“=”开头）。")
        elif value.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(value):
            errors[field] = _(
                "内容不能以“%(char)s”开头（在Excel中打开时可能被当作公式执行），纯数字（如-5）除外。", char=value[0]
            )
    kind = KIND_WORDS.get(text["kind"].lower())
    if kind is None and "kind" not in errors:
        errors["kind"] = _("题型“%(value)s”无效，应为判断题、单选题或多选题。", value=excerpt(text["kind"]))
    stem = text["stem"]
    if not stem:
        errors.setdefault("stem", _("题干不能为空。"))
    elif len(stem) > MAX_TEXT:
        errors["stem"] = _("题干不能超过%(n)d个字。", n=MAX_TEXT)
    options = _check_options(kind, text, errors)
    answer = _check_answer(kind, text["answer"], options, errors) if "answer" not in errors else ""
    knowledge_point = SPACES.sub(" ", text["knowledge_point"])
    if len(knowledge_point) > MAX_KNOWLEDGE_POINT:
        errors["knowledge_point"] = _("知识点不能超过%(n)d个字。", n=MAX_KNOWLEDGE_POINT)
    difficulty = DEFAULT_DIFFICULTY
    if text["difficulty"] and "difficulty" not in errors:
        try:
            difficulty = int(text["difficulty"])
        except ValueError:
            difficulty = 0
        if not 1 <= difficulty <= 5:
            errors["difficulty"] = _("难度“%(value)s”无效，应为1至5的整数。", value=excerpt(text["difficulty"]))
    if len(text["explanation"]) > MAX_TEXT:
        errors["explanation"] = _("解析不能超过%(n)d个字。", n=MAX_TEXT)
    status = QuestionStatus.ACTIVE
    if text["status"] and "status" not in errors:
        found = STATUS_WORDS.get(text["status"].lower())
        if found is None:
            errors["status"] = _("状态“%(value)s”无效，应为草稿、启用或停用。", value=excerpt(text["status"]))
        else:
            status = found
    if errors or kind is None:
        return None, errors
    data = QuestionData(
        kind=kind,
        stem=stem,
        options=tuple(options),
        answer=answer,
        knowledge_point=knowledge_point,
        difficulty=difficulty,
        explanation=text["explanation"],
        status=status,
    )
    return data, {}


def _check_options(kind: QuestionKind | None, text: Mapping[str, str], errors: dict[str, str]) -> list[str]:
    filled = [letter for letter in OPTION_LETTERS if text[letter]]
    if kind is None:
        return []
    if kind == QuestionKind.TRUE_FALSE:
        if filled:
            errors.setdefault(filled[0], _("判断题不填写选项，答案填“对”或“错”。"))
        return []
    last = OPTION_LETTERS.index(filled[-1]) if filled else -1
    for letter in OPTION_LETTERS[: last + 1]:
        if not text[letter]:
            errors.setdefault(letter, _("选项%(letter)s为空，但后面还有选项；选项应从A起连续填写。", letter=letter))
            return []
    least = MIN_OPTIONS[kind]
    if len(filled) < least:
        errors.setdefault(
            OPTION_LETTERS[len(filled)] if len(filled) < len(OPTION_LETTERS) else "A",
            _("%(kind)s至少需要%(n)d个选项。", kind=KIND_WORD[kind], n=least),
        )
        return []
    options = [text[letter] for letter in filled]
    for letter, value in zip(filled, options, strict=True):
        if len(value) > MAX_TEXT:
            errors.setdefault(letter, _("选项不能超过%(n)d个字。", n=MAX_TEXT))
    squashed = [_squash(o) for o in options]
    for index, value in enumerate(squashed):
        if value in squashed[:index]:
            first = OPTION_LETTERS[squashed.index(value)]
            errors.setdefault(filled[index], _("与选项%(other)s内容相同。", other=first))
    return options


def _check_answer(kind: QuestionKind | None, raw: str, options: Sequence[str], errors: dict[str, str]) -> str:
    if not raw:
        errors["answer"] = _("答案不能为空。")
        return ""
    shown = excerpt(raw)
    if kind is None:
        return ""
    if kind == QuestionKind.TRUE_FALSE:
        word = raw.lower()
        if word in TRUE_WORDS:
            return "T"
        if word in FALSE_WORDS:
            return "F"
        errors["answer"] = _("判断题的答案应为“对”或“错”，不能是“%(value)s”。", value=shown)
        return ""
    letters = ANSWER_SEPARATORS.sub("", raw).upper()
    if not letters or any(ch not in OPTION_LETTERS for ch in letters):
        errors["answer"] = _("答案“%(value)s”无效，应为选项字母（A至F）。", value=shown)
        return ""
    if len(set(letters)) != len(letters):
        errors["answer"] = _("答案“%(value)s”中有重复的字母。", value=shown)
        return ""
    if not options:
        return ""
    missing = [ch for ch in letters if OPTION_LETTERS.index(ch) >= len(options)]
    if missing:
        errors["answer"] = _(
            "答案“%(value)s”中的选项%(missing)s不存在（本题只有选项A至%(last)s）。",
            value=shown,
            missing="、".join(missing),
            last=OPTION_LETTERS[len(options) - 1],
        )
        return ""
    if kind == QuestionKind.SINGLE and len(letters) != 1:
        errors["answer"] = _("单选题只能有一个正确答案，不能是“%(value)s”。", value=shown)
        return ""
    if kind == QuestionKind.MULTIPLE and len(letters) < 2:
        errors["answer"] = _("多选题至少有两个正确答案，不能只有“%(value)s”。", value=shown)
        return ""
    return "".join(sorted(letters))


def check_rows(rows: Sequence[FileRow]) -> tuple[list[tuple[FileRow, QuestionData]], list[Problem]]:
    """Check every row, and duplicates within the file; return the good rows and all problems."""
    good: list[tuple[FileRow, QuestionData]] = []
    problems: list[Problem] = []
    first_row: dict[str, int] = {}
    for row in rows:
        data, errors = check_question({field: value for field, (_letter, value) in row.cells.items()})
        for field, message in errors.items():
            letter = row.cells.get(field, (None, ""))[0]
            problems.append(Problem(row.number, letter, message))
        if data is None:
            continue
        earlier = first_row.get(data.content_hash)
        if earlier is not None:
            problems.append(Problem(row.number, None, _("与第%(other)d行的题目重复。", other=earlier)))
            continue
        first_row[data.content_hash] = row.number
        good.append((row, data))
    return good, problems


# --- the format as people read it ------------------------------------------------------------------------------

# Two example rows in the file's own words: a template's header plus these must import cleanly.
TEMPLATE_EXAMPLES = (
    ("判断题", "停电作业前必须先验电。", "", "", "", "", "", "", "对", "安全技术", "1", "", "启用"),
    (
        "单选题",
        "低压是指对地电压在多少伏以下？",
        "250V",
        "380V",
        "1000V",
        "36V",
        "",
        "",
        "C",
        "基础知识",
        "2",
        "对地电压在1000V及以下为低压。",
        "启用",
    ),
)


@dataclasses.dataclass(frozen=True)
class ColumnRule:
    """One column of the file format: its Chinese and English header, whether it is required, what it holds."""

    header: str
    english: str
    required: bool
    rule: str


def template_rows() -> list[list[str]]:
    """The header and the two example rows of a downloadable template."""
    return [list(EXPORT_HEADERS), *(list(row) for row in TEMPLATE_EXAMPLES)]


def _words(vocabulary: Mapping[str, object], value: object) -> str:
    return "、".join(f"“{word}”" for word, meaning in vocabulary.items() if meaning == value)


def column_rules() -> list[ColumnRule]:
    """The columns of the format, described from the same constants the checks use."""
    kinds = "；".join(f"{KIND_WORD[kind]}：{_words(KIND_WORDS, kind)}" for kind in QuestionKind)
    statuses = "；".join(f"{STATUS_WORD[status]}：{_words(STATUS_WORDS, status)}" for status in QuestionStatus)
    true_words = "、".join(f"“{w}”" for w in sorted(TRUE_WORDS))
    false_words = "、".join(f"“{w}”" for w in sorted(FALSE_WORDS))
    letters = f"{OPTION_LETTERS[0]}至{OPTION_LETTERS[-1]}"
    return [
        ColumnRule("题型", "kind", True, _("可填写：%(words)s。", words=kinds)),
        ColumnRule("题干", "stem", True, _("题目内容，不超过%(n)d个字。", n=MAX_TEXT)),
        ColumnRule(
            letters,
            "A … F",
            False,
            _(
                "选项，从A起连续填写，每个不超过%(n)d个字，不能有相同的选项；单选题至少%(single)d个，"
                "多选题至少%(multiple)d个；判断题不填写选项。列名也可写作“选项A”或“option_a”。",
                n=MAX_TEXT,
                single=MIN_OPTIONS[QuestionKind.SINGLE],
                multiple=MIN_OPTIONS[QuestionKind.MULTIPLE],
            ),
        ),
        ColumnRule(
            "答案",
            "answer",
            True,
            _(
                "判断题：正确填%(true)s之一，错误填%(false)s之一；单选题：一个选项字母；"
                "多选题：两个或以上选项字母，可写作“ACD”“A,C,D”或“A、C、D”。字母必须对应已填写的选项。",
                true=true_words,
                false=false_words,
            ),
        ),
        ColumnRule(
            "知识点",
            "knowledge_point",
            False,
            _("不超过%(n)d个字；组卷方案可按知识点抽题。", n=MAX_KNOWLEDGE_POINT),
        ),
        ColumnRule(
            "难度",
            "difficulty",
            False,
            _("1（易）至5（难）的整数；不填为%(n)d。", n=DEFAULT_DIFFICULTY),
        ),
        ColumnRule("解析", "explanation", False, _("随答案显示，不超过%(n)d个字。", n=MAX_TEXT)),
        ColumnRule(
            "状态",
            "status",
            False,
            _("可填写：%(words)s；不填为启用。只有启用的题目会被抽入试卷。", words=statuses),
        ),
    ]


# --- writing files ---------------------------------------------------------------------------------------------


def export_rows(questions: Iterable[Question]) -> list[list[str]]:
    """The header and one row per question, in the import format."""
    rows = [list(EXPORT_HEADERS)]
    for question in questions:
        options = question.option_list
        answer = question.answer
        if question.kind == QuestionKind.TRUE_FALSE:
            answer = "对" if answer == "T" else "错"
        rows.append(
            [
                KIND_WORD[question.kind],
                question.stem,
                *(options[i] if i < len(options) else "" for i in range(len(OPTION_LETTERS))),
                answer,
                question.knowledge_point,
                str(question.difficulty),
                question.explanation,
                STATUS_WORD[question.status],
            ]
        )
    return rows


def escape_cell(value: str) -> str:
    """A CSV cell a spreadsheet cannot take for a formula: a leading apostrophe before =, +, -, @, tab or CR."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def write_csv(rows: Sequence[Sequence[str]]) -> bytes:
    """UTF-8 CSV with a BOM, so that Excel opens the Chinese text correctly; formula-like cells escaped."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows([escape_cell(value) for value in row] for row in rows)
    return buffer.getvalue().encode("utf-8-sig")


def write_xlsx(rows: Sequence[Sequence[str]]) -> bytes:
    """An XLSX workbook with one sheet; every cell is stored as text (never a formula), values unchanged."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None  # noqa: S101 - a new workbook always has its first sheet
    sheet.title = "题库"
    for r, values in enumerate(rows, start=1):
        for c, value in enumerate(values, start=1):
            cell = sheet.cell(row=r, column=c)
            cell.value = value
            cell.data_type = "s"
            # Excel's own "this is text" mark: the cell stays text even when someone edits it and presses Enter.
            cell.quotePrefix = value.startswith(FORMULA_STARTS)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
