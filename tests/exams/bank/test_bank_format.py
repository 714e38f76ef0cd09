"""The question file format page and the downloadable templates: reachable from the bank, and importing cleanly."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from flask import Flask

from exams.bank import importer, services
from opcert.access import Role
from opcert.extensions import db
from tests.exams.bank.bank_data import catalogue_item, question_count
from tests.fixtures.web import logged_in_client, submit, text


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_downloaded_template_imports_through_the_import_page(app: Flask, file_format: str) -> None:
    with app.app_context():
        item = catalogue_item()
        item_id = item.id
    client = logged_in_client(app, Role.PROVIDER)
    index = text(client.get("/admin/bank/"))
    format_url = re.search(r'href="(/admin/bank/format)"', index)
    assert format_url is not None, "the bank page links to the format page"
    page = text(client.get(format_url.group(1)))
    template_url = re.search(rf'href="(/admin/bank/template\.{file_format})"', page)
    assert template_url is not None, "the format page offers the template"
    download = client.get(template_url.group(1))
    assert download.status_code == 200
    assert f"question-template.{file_format}" in download.headers["Content-Disposition"]
    if file_format == "csv":
        assert download.data.startswith("\ufeff题型,题干".encode())

    url = f"/admin/bank/items/{item_id}/import"
    upload = {"file": (BytesIO(download.data), f"template.{file_format}")}
    response = submit(client, url, upload, page=url, follow=True)
    assert "已导入2道题。" in text(response)
    with app.app_context():
        assert question_count(db.session.merge(item)) == 2


def test_format_page_states_the_importer_limits(app: Flask) -> None:
    client = logged_in_client(app, Role.ADMIN)
    page = text(client.get("/admin/bank/format"))
    for column in importer.column_rules():
        assert column.rule in page
    assert str(app.config["QUESTION_IMPORT_MAX_QUESTIONS"]) in page
    assert "题干" in page
    assert "knowledge_point" in page
    assert client.get("/admin/bank/template.pdf").status_code == 404


def test_format_page_is_in_english_for_english_readers(app: Flask) -> None:
    client = logged_in_client(app, Role.ADMIN)
    with client.session_transaction() as session:
        session["lang"] = "en"
    page = text(client.get("/admin/bank/format"))
    assert "Question file format" in page
    assert "Download template" in page


def test_trainees_cannot_see_the_format_or_templates(app: Flask) -> None:
    client = logged_in_client(app, Role.TRAINEE)
    assert client.get("/admin/bank/format").status_code == 403
    assert client.get("/admin/bank/template.csv").status_code == 403


def test_template_rows_import_in_the_service(db) -> None:
    item = catalogue_item()
    added = services.import_questions(item_id=item.id, filename="t.xlsx", data=services.question_template("xlsx")[1])
    db.session.commit()
    assert [q.stem for q in added] == [row[1] for row in importer.TEMPLATE_EXAMPLES]
