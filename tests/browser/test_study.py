"""In a real Chromium with a fake camera fed from a real photo: a trainee studies a lesson, passes the face check
and has time credited; with another person in front of the camera nothing is credited."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from opcert.extensions import db
from opcert.training.models import IntervalStatus, StudyInterval
from photos import services as photos
from photos.models import PhotoSource
from tests.browser.test_csp import CHROMIUM_ARGS, chromium_path, live_url  # noqa: F401 (fixtures)
from tests.factories import PASSWORD, trainee
from tests.fixtures.faces import FACES
from tests.photos.imagelib import photo
from tests.training import training_data as data

pytestmark = pytest.mark.browser
REFERENCE = "identities/deepface__dp01/2.jpg"
TOOL = FACES.parent / "tools" / "photo-to-y4m.py"


@pytest.fixture
def face_checks_per_hour() -> int:
    """Face checks on for `quick_clock` (one at the start of the sitting)."""
    return 1


def _camera(tmp_path: Path, rel: str) -> Path:
    out = tmp_path / "camera.y4m"
    subprocess.run([sys.executable, str(TOOL), str(FACES / rel), str(out)], check=True)  # noqa: S603
    return out


def _study_in_browser(app: Flask, live: str, chromium: str, camera: Path) -> tuple[str, int]:
    """Log in, open the lesson, answer the face check; the check's outcome and the seconds credited."""
    from playwright.sync_api import sync_playwright

    with app.app_context():
        course = data.published_course()
        learner = trainee()
        number = learner.id_number or ""
        photos.store_photo(id_number=number, data=photo(REFERENCE), source=PhotoSource.UNIFIED_LIBRARY)
        photos.record_consent(id_number=number, recorded_by_id=None)
        data.enrolled(learner, course)
        lesson_id, trainee_id = course.lessons[0].id, learner.id
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={camera}",
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=args)
        try:
            page = browser.new_context(base_url=live).new_page()
            page.goto("/login")
            page.fill("#account", number)
            page.fill("#password", PASSWORD)
            page.click("main #submit")
            page.goto(f"/training/lessons/{lesson_id}")
            page.wait_for_selector("#face-check:not(.d-none)", timeout=15_000)
            page.wait_for_function("document.getElementById('face-video').videoWidth > 0", timeout=15_000)
            page.click("#face-go")
            page.wait_for_selector("#face-result[data-outcome]", state="attached", timeout=60_000)
            outcome = page.get_attribute("#face-result", "data-outcome") or ""
            page.wait_for_timeout(5_000)  # a few more heartbeats
        finally:
            browser.close()
    with app.app_context():
        credited = db.session.execute(
            sa.select(sa.func.coalesce(sa.func.sum(StudyInterval.seconds), 0)).where(
                StudyInterval.trainee_id == trainee_id, StudyInterval.status == IntervalStatus.CREDITED
            )
        ).scalar_one()
    return outcome, int(credited)


def test_own_face_passes_and_time_is_credited(app, live_url, chromium_path, quick_clock, tmp_path) -> None:  # noqa: F811
    outcome, credited = _study_in_browser(
        app, live_url, chromium_path, _camera(tmp_path, "identities/deepface__dp01/5.jpg")
    )
    assert outcome == "passed"
    assert credited > 0


def test_another_person_credits_nothing(app, live_url, chromium_path, quick_clock, tmp_path) -> None:  # noqa: F811
    outcome, credited = _study_in_browser(
        app, live_url, chromium_path, _camera(tmp_path, "identities/deepface__dp02/1.jpg")
    )
    assert outcome == "failed"
    assert credited == 0
