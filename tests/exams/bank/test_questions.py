"""The question bank: CSV/XLSX import (all or nothing, every error by row and column), export, editing, pages."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from flask import Flask

from exams.bank import services
from exams.bank.models import Question, QuestionKind, QuestionStatus
from exams.papers import services as papers
from opcert.access import Role
from opcert.audit.models import AuditEvent
from opcert.errors import DomainError
from opcert.extensions import db
from tests.exams.bank.bank_data import (
    AUTHORITY,
    HEADER,
    catalogue_item,
    csv_bytes,
    fill_bank,
    multiple_row,
    question_count,
    single_row,
    tf_row,
    xlsx_bytes,
)
from tests.fixtures.web import logged_in_client, submit, text

GOOD_ROWS = [
    tf_row("停电作业前必须先验电。", "对", "安全技术"),
    single_row(
        "低压是指对地电压在多少伏以下？", ("250V", "380V", "1000V", "36V"), "C", point="基础知识", difficulty="2"
    ),
    multiple_row("下列属于绝缘安全用具的是？", ("绝缘手套", "绝缘靴", "扳手", "验电器"), "A、B、D"),
]


def refused(item_id: int, filename: str, data: bytes) -> list[str]:
    """Import a file that must be refused; return its problems as people read them."""
    with pytest.raises(services.QuestionImportError) as caught:
        services.import_questions(item_id=item_id, filename=filename, data=data)
    db.session.rollback()
    assert "没有导入任何题目" in caught.value.message
    return [str(p) for p in caught.value.problems]


# --- import: the good cases -----------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8"])
def test_csv_import_with_or_without_bom(db, encoding) -> None:
    item = catalogue_item()
    added = services.import_questions(
        item_id=item.id, filename="题库.csv", data=csv_bytes(GOOD_ROWS, encoding=encoding)
    )
    db.session.commit()
    assert len(added) == 3
    tf, single, multiple = sorted(added, key=lambda q: q.id)
    assert (tf.kind, tf.answer, tf.option_list, tf.knowledge_point) == (QuestionKind.TRUE_FALSE, "T", [], "安全技术")
    assert (single.kind, single.answer, single.option_list[2], single.difficulty) == (
        QuestionKind.SINGLE,
        "C",
        "1000V",
        2,
    )
    assert (multiple.answer, multiple.difficulty, multiple.status) == ("ABD", 3, QuestionStatus.ACTIVE)
    actions = list(db.session.execute(sa.select(AuditEvent.action)).scalars())
    assert "questions.imported" in actions


def test_english_headers_and_optional_columns(db) -> None:
    item = catalogue_item()
    header = ["kind", "stem", "A", "B", "answer", "status"]
    rows = [["single", "Which?", "yes", "no", "b", "draft"], ["true_false", "Fine?", "", "", "F", ""]]
    added = services.import_questions(item_id=item.id, filename="q.csv", data=csv_bytes(rows, header=header))
    assert [(q.kind, q.answer, q.status) for q in added] == [
        (QuestionKind.SINGLE, "B", QuestionStatus.DRAFT),
        (QuestionKind.TRUE_FALSE, "F", QuestionStatus.ACTIVE),
    ]


def test_xlsx_import(db, tmp_path) -> None:
    item = catalogue_item()
    rows = [*GOOD_ROWS, ["单选题", "数字选项", 1, 2, 3, None, None, None, "B", None, 4, None, "启用"]]
    data = xlsx_bytes(rows, path=tmp_path / "bank.xlsx")
    added = services.import_questions(item_id=item.id, filename="bank.xlsx", data=data)
    assert len(added) == 4
    assert added[3].option_list == ["1", "2", "3"]
    assert added[3].difficulty == 4


# --- import: bad input, all or nothing ------------------------------------------------------------------------


def test_wrong_columns_are_listed(db) -> None:
    item = catalogue_item()
    header = ["题型", "题目", "A", "B", "答案", "答案"]
    problems = refused(item.id, "q.csv", csv_bytes([["单选题", "x", "a", "b", "A", "A"]], header=header))
    assert "第1行B列：无法识别的列名“题目”。" in problems
    assert "第1行F列：列“答案”与E列重复。" in problems
    assert "第1行：缺少必需的列：题干。" in problems
    assert question_count() == 0


def test_answer_naming_a_missing_option(db) -> None:
    item = catalogue_item()
    rows = [single_row("三个选项", ("甲", "乙", "丙"), "D"), multiple_row("四个选项", answer="AG")]
    problems = refused(item.id, "q.csv", csv_bytes([*GOOD_ROWS, *rows]))
    assert problems == [
        "第5行I列：答案“D”中的选项D不存在（本题只有选项A至C）。",
        "第6行I列：答案“AG”无效，应为选项字母（A至F）。",
    ]
    assert question_count() == 0


def test_every_row_error_is_listed_and_nothing_is_written(db) -> None:
    item = catalogue_item()
    rows = [
        *GOOD_ROWS,
        ["填空题", "题型不对", "", "", "", "", "", "", "对", "", "", "", ""],
        tf_row("", "对"),
        tf_row("答案不对", "可能"),
        single_row("单选两个答案", answer="AB"),
        single_row("难度", difficulty="9"),
        single_row("选项有空", ("甲", "", "丙")),
        single_row("状态", status="作废"),
    ]
    problems = refused(item.id, "q.csv", csv_bytes(rows))
    assert problems == [
        "第5行A列：题型“填空题”无效，应为判断题、单选题或多选题。",
        "第6行B列：题干不能为空。",
        "第7行I列：判断题的答案应为“对”或“错”，不能是“可能”。",
        "第8行I列：单选题只能有一个正确答案，不能是“AB”。",
        "第9行K列：难度“9”无效，应为1至5的整数。",
        "第10行D列：选项B为空，但后面还有选项；选项应从A起连续填写。",
        "第11行M列：状态“作废”无效，应为草稿、启用或停用。",
    ]
    assert question_count() == 0


def test_duplicates_within_the_file(db) -> None:
    item = catalogue_item()
    again = single_row("低压是指对地电压在多少伏以下？", ("36V", "1000V", "380V", "250V"), "B")
    problems = refused(item.id, "q.csv", csv_bytes([*GOOD_ROWS, tf_row("停电作业前必须先验电。  ", "错"), again]))
    assert problems == ["第5行：与第2行的题目重复。", "第6行：与第3行的题目重复。"]
    assert question_count() == 0


def test_duplicates_against_the_bank(db) -> None:
    item = catalogue_item()
    services.import_questions(item_id=item.id, filename="q.csv", data=csv_bytes(GOOD_ROWS[:1]))
    db.session.commit()
    first_id = db.session.execute(sa.select(Question.id)).scalar_one()
    problems = refused(item.id, "q.csv", csv_bytes(GOOD_ROWS))
    assert problems == [f"第2行：题库中已有相同的题目（编号{first_id}）。"]
    assert question_count() == 1
    other = catalogue_item("1.3")
    assert len(services.import_questions(item_id=other.id, filename="q.csv", data=csv_bytes(GOOD_ROWS))) == 3


def test_gbk_csv_is_refused_naming_the_encoding(db) -> None:
    item = catalogue_item()
    problems = refused(item.id, "q.csv", csv_bytes(GOOD_ROWS, encoding="gbk"))
    assert len(problems) == 1
    assert problems[0].startswith("第1行：文件不是UTF-8编码（看起来是GBK/GB18030编码")
    assert "CSV UTF-8" in problems[0]


def test_other_unreadable_files(db) -> None:
    item = catalogue_item()
    assert refused(item.id, "q.csv", "题型".encode("utf-16")) == [
        "文件是UTF-16编码，请另存为“CSV UTF-8（逗号分隔）”后再导入。"
    ]
    assert refused(item.id, "q.xlsx", b"PK\x03\x04 not really a workbook") == [
        "无法读取Excel文件：文件已损坏或不是.xlsx格式。"
    ]
    assert refused(item.id, "q.xls", b"\xd0\xcf\x11\xe0old") == [
        "不支持旧版Excel（.xls）文件，请另存为.xlsx或UTF-8编码的CSV后再导入。"
    ]
    assert refused(item.id, "q.pdf", b"%PDF-1.4") == ["只能导入.csv或.xlsx文件。"]
    assert refused(item.id, "q.csv", b"") == ["文件是空的。"]
    assert refused(item.id, "q.csv", csv_bytes([])) == ["文件中没有题目（只有表头）。"]


def test_excel_formulas_are_refused_cell_by_cell(db, tmp_path) -> None:
    item = catalogue_item()
    rows = [
        *GOOD_ROWS,
        ["单选题", "公式选项", "甲", "=1+1", "丙", "=A2", None, None, "A", None, None, None, "启用"],
        ["判断题", '=CONCATENATE("停电","验电")', None, None, None, None, None, None, "对", None, None, None, None],
    ]
    problems = refused(item.id, "bank.xlsx", xlsx_bytes(rows, path=tmp_path / "formulas.xlsx"))
    assert problems == [
        "第5行D列：不允许使用公式，请改为直接填写内容。",
        "第5行F列：不允许使用公式，请改为直接填写内容。",
        "第6行B列：不允许使用公式，请改为直接填写内容。",
    ]
    assert question_count() == 0


def test_xlsx_row_errors_use_the_sheet_row_numbers(db, tmp_path) -> None:
    item = catalogue_item()
    rows = [GOOD_ROWS[0], [None] * 13, single_row("三个选项", ("甲", "乙", "丙"), "E")]
    problems = refused(item.id, "bank.xlsx", xlsx_bytes(rows))
    assert problems == ["第4行I列：答案“E”中的选项E不存在（本题只有选项A至C）。"]


def test_csv_text_starting_with_equals_is_refused(db) -> None:
    item = catalogue_item()
    problems = refused(item.id, "q.csv", csv_bytes([single_row("=HYPERLINK(1)")]))
    assert problems == ["第2行B列：不允许使用公式（内容不能以“=”开头）。"]


# --- export ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_export_then_import_round_trip(db, file_format) -> None:
    item = catalogue_item()
    services.import_questions(item_id=item.id, filename="q.csv", data=csv_bytes(GOOD_ROWS))
    draft = services.import_questions(
        item_id=item.id, filename="q.csv", data=csv_bytes([tf_row("草稿题", status="草稿")])
    )
    db.session.commit()
    name, data = services.export_questions(item_id=item.id, file_format=file_format)
    assert name.startswith("questions-1.2-")
    assert name.endswith(file_format)

    problems = refused(item.id, name, data)
    assert len(problems) == 4
    assert all("题库中已有相同的题目" in p for p in problems)

    other = catalogue_item("1.3")
    copied = services.import_questions(item_id=other.id, filename=name, data=data)
    db.session.commit()

    def content(questions: list[Question]) -> list[tuple[object, ...]]:
        return [
            (q.kind, q.stem, q.option_list, q.answer, q.knowledge_point, q.difficulty, q.explanation, q.status)
            for q in questions
        ]

    assert content(copied) == content(services.list_questions(item_id=item.id))
    assert draft[0].status == QuestionStatus.DRAFT


def test_xlsx_export_is_text_only(db) -> None:
    item = catalogue_item()
    services.import_questions(item_id=item.id, filename="q.csv", data=csv_bytes(GOOD_ROWS))
    _name, data = services.export_questions(item_id=item.id, file_format="xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    assert [c.value for c in sheet[1]] == HEADER
    assert [c.value for c in sheet[2]][:2] == ["判断题", "停电作业前必须先验电。"]
    assert all(cell.data_type == "s" for row in sheet.iter_rows() for cell in row if cell.value is not None)


# --- editing and status ---------------------------------------------------------------------------------------


def test_status_transitions(db) -> None:
    item = catalogue_item()
    [question] = services.import_questions(
        item_id=item.id, filename="q.csv", data=csv_bytes([tf_row("x", status="草稿")])
    )
    services.change_status(question=question, status=QuestionStatus.ACTIVE, **AUTHORITY)
    services.change_status(question=question, status=QuestionStatus.RETIRED, **AUTHORITY)
    with pytest.raises(DomainError) as caught:
        services.change_status(question=question, status=QuestionStatus.DRAFT, **AUTHORITY)
    assert caught.value.message == "题目状态不能从“停用”改为“草稿”。"
    services.change_status(question=question, status=QuestionStatus.ACTIVE, **AUTHORITY)
    assert question.status == QuestionStatus.ACTIVE


def test_edit_refuses_duplicates_and_key_changes_after_answers(db) -> None:
    item = catalogue_item()
    first, second = services.import_questions(
        item_id=item.id, filename="q.csv", data=csv_bytes([tf_row("第一题"), tf_row("第二题")])
    )
    db.session.commit()
    values = {"kind": "true_false", "stem": "第一题", "answer": "对", "status": "active"}
    with pytest.raises(DomainError) as caught:
        services.save_question(question=second, item_id=item.id, values=values, **AUTHORITY)
    assert caught.value.reasons == {"stem": f"题库中已有相同的题目（编号{first.id}）。"}
    db.session.rollback()

    item = catalogue_item()
    item.theory_true_false, item.theory_single = 2, 0
    paper = papers.generate_paper(item_id=item.id)
    papers.record_answers(paper_id=paper.id, answers={})
    first = db.session.get(Question, first.id)
    with pytest.raises(DomainError) as caught:
        services.save_question(question=first, item_id=item.id, values={**values, "answer": "错"}, **AUTHORITY)
    assert "已有考生作答记录" in caught.value.reasons["answer"]
    saved = services.save_question(
        question=first, item_id=item.id, values={**values, "stem": "第一题（修订）"}, **AUTHORITY
    )
    assert saved.stem == "第一题（修订）"


# --- command line ---------------------------------------------------------------------------------------------


def test_cli_import_and_export(app: Flask, runner, tmp_path: Path) -> None:
    with app.app_context():
        catalogue_item()
    good = tmp_path / "good.csv"
    good.write_bytes(csv_bytes(GOOD_ROWS))
    result = runner.invoke(args=["exams", "import-questions", "1.2", str(good)])
    assert result.exit_code == 0, result.output
    assert "imported 3 questions" in result.output

    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([single_row("三个选项", ("甲", "乙", "丙"), "D")]))
    result = runner.invoke(args=["exams", "import-questions", "1.2", str(bad)])
    assert result.exit_code != 0
    assert "第2行I列：答案“D”中的选项D不存在" in result.output

    out = tmp_path / "out.xlsx"
    result = runner.invoke(args=["exams", "export-questions", "1.2", str(out)])
    assert result.exit_code == 0, result.output
    assert openpyxl.load_workbook(out).worksheets[0].max_row == 4
    result = runner.invoke(args=["exams", "import-questions", "9.99", str(good)])
    assert result.exit_code != 0
    assert "操作项目“9.99”不存在" in result.output


# --- pages ----------------------------------------------------------------------------------------------------


def test_import_page_lists_every_error_then_imports(app: Flask) -> None:
    with app.app_context():
        item_id = catalogue_item().id
    client = logged_in_client(app, Role.ADMIN)
    url = f"/admin/bank/items/{item_id}/import"
    bad = csv_bytes([*GOOD_ROWS, single_row("三个选项", ("甲", "乙", "丙"), "D"), tf_row("", "对")])
    response = submit(client, url, {"file": (io.BytesIO(bad), "bank.csv")}, page=url)
    page = text(response)
    assert response.status_code == 200
    assert "第5行I列：答案“D”中的选项D不存在（本题只有选项A至C）。" in page
    assert "第6行B列：题干不能为空。" in page
    with app.app_context():
        assert question_count() == 0

    response = submit(client, url, {"file": (io.BytesIO(csv_bytes(GOOD_ROWS)), "bank.csv")}, page=url)
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "已导入3道题。" in page
    assert "下列属于绝缘安全用具的是？" in page
    with app.app_context():
        assert question_count() == 3


def test_import_page_needs_a_file(app: Flask) -> None:
    with app.app_context():
        item_id = catalogue_item().id
    client = logged_in_client(app, Role.PROVIDER)
    url = f"/admin/bank/items/{item_id}/import"
    assert "请选择要导入的文件。" in text(submit(client, url, {}, page=url))


def test_list_filters_export_edit_and_status_pages(app: Flask) -> None:
    with app.app_context():
        item = catalogue_item()
        item_id = item.id
        services.import_questions(item_id=item.id, filename="q.csv", data=csv_bytes(GOOD_ROWS))
        db.session.commit()
        tf_id = db.session.execute(sa.select(Question.id).where(Question.kind == QuestionKind.TRUE_FALSE)).scalar_one()
    client = logged_in_client(app, Role.ADMIN)
    base = f"/admin/bank/items/{item_id}"
    assert "低压电工作业" in text(client.get("/admin/bank/"))
    page = text(client.get(f"{base}?kind=single"))
    assert "低压是指对地电压" in page
    assert "停电作业前必须先验电" not in page
    page = text(client.get(f"{base}?point=安全技术"))
    assert "停电作业前必须先验电" in page
    assert "低压是指对地电压" not in page

    response = client.get(f"{base}/export.csv")
    assert response.status_code == 200
    assert response.data.startswith("\ufeff题型,题干".encode())
    assert client.get(f"{base}/export.pdf").status_code == 404

    edit = f"{base}/questions/{tf_id}/edit"
    form = {"kind": "true_false", "stem": "停电作业前必须先验电并挂接地线。", "answer": "对", "difficulty": "2"}
    response = submit(client, edit, {**form, "status": "active"}, page=edit)
    assert response.status_code == 302
    response = submit(client, edit, {**form, "answer": "也许", "status": "active"}, page=edit)
    assert "判断题的答案应为“对”或“错”，不能是“也许”。" in text(response)
    response = submit(client, edit, {**form, "status": "draft"}, page=edit)
    assert "题目状态不能从“启用”改为“草稿”。" in text(response)

    response = submit(client, f"/admin/bank/questions/{tf_id}/status", {"status": "retired"}, page=base, follow=True)
    assert "题目状态已更改。" in text(response)
    with app.app_context():
        question = db.session.get(Question, tf_id)
        assert question is not None
        assert (question.stem, question.difficulty, question.status) == (
            "停电作业前必须先验电并挂接地线。",
            2,
            QuestionStatus.RETIRED,
        )


def test_new_question_page(app: Flask) -> None:
    with app.app_context():
        item_id = catalogue_item().id
    client = logged_in_client(app, Role.PROVIDER)
    url = f"/admin/bank/items/{item_id}/questions/new"
    data = {"kind": "single", "stem": "新题", "A": "甲", "B": "乙", "answer": "c", "difficulty": "3", "status": "draft"}
    page = text(submit(client, url, data, page=url))
    assert "答案“c”中的选项C不存在（本题只有选项A至B）。" in page
    response = submit(client, url, {**data, "answer": "b"}, page=url)
    assert response.status_code == 302
    with app.app_context():
        question = db.session.execute(sa.select(Question)).scalar_one()
        assert (question.answer, question.status) == ("B", QuestionStatus.DRAFT)


def test_trainees_cannot_see_the_bank(app: Flask) -> None:
    with app.app_context():
        item = catalogue_item()
        fill_bank(item, true_false=1)
        item_id = item.id
    client = logged_in_client(app, Role.TRAINEE)
    assert client.get(f"/admin/bank/items/{item_id}").status_code == 403
    assert client.get(f"/admin/bank/items/{item_id}/export.csv").status_code == 403
