"""`opcert demo`: idempotent, and the demo trainee finds a library photo (减照片) when the shared photos exist."""

from __future__ import annotations

from typing import Any

from flask import Flask

from exams.demo import SECOND_CANDIDATE_ID
from opcert.demo import TRAINEE_ID
from photos import services as photos
from photos.models import PhotoSource
from tests.fixtures.faces import FACES
from tests.fixtures.web import login, text


def test_demo_puts_the_trainees_photo_in_the_library_once_and_the_page_says_no_upload(app: Flask, runner: Any) -> None:
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "library photo loaded from" in first.output
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0, again.output
    assert "library photo: present" in again.output
    with app.app_context():
        status = photos.reference_status(TRAINEE_ID)
        assert status.case is photos.ReferenceCase.LIBRARY
        assert status.photo is not None
        assert status.photo.source is PhotoSource.UNIFIED_LIBRARY
        second = photos.reference_status(SECOND_CANDIDATE_ID)
        assert second.case is photos.ReferenceCase.LIBRARY, "李四's home shows 证件照片 done too"
        assert second.photo is not None
        assert second.photo.sha256 != status.photo.sha256, "another person's photo"
    assert "李四's library photo loaded from" in first.output
    assert "李四's library photo: present" in again.output

    client = app.test_client()
    assert login(client, TRAINEE_ID, "Demo2026pass").status_code == 302
    page = text(client.get("/account/photo"))
    assert "无需上传" in page


def test_demo_without_a_photo_says_so_and_still_loads(app: Flask, runner: Any) -> None:
    app.config["DEMO_PHOTO_PATH"] = str(FACES / "does-not-exist.jpg")
    try:
        result = runner.invoke(args=["demo"])
    finally:
        app.config["DEMO_PHOTO_PATH"] = None
    assert result.exit_code == 0, result.output
    assert "no demo photo found" in result.output
    with app.app_context():
        assert photos.reference_status(TRAINEE_ID).case is photos.ReferenceCase.MISSING
