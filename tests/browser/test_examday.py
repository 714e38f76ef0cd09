"""Exam day in a real Chromium: the check-in desk with a fake camera showing a real face, and the theory exam's seat
through an outage, a reload, time end and a SIGKILLed server (every answer the page was told was saved is there)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from exams.cbt import services as cbt
from exams.cbt.models import AnswerSave, Attempt, AttemptStatus
from exams.checkin import services as checkin
from opcert.db import utcnow
from opcert.extensions import db
from tests.browser.test_csp import CHROMIUM_ARGS, chromium_path, live_url  # noqa: F401 (fixtures)
from tests.exams.cbt.cbt_data import room, ticket_of
from tests.exams.checkin.checkin_data import candidate, centre_staff, today_session
from tests.exams.sessions import sessions_data
from tests.factories import PASSWORD
from tests.fixtures.database import TEST_CONFIG
from tests.fixtures.faces import FACES

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def noisy_camera(photo: Path, out: Path, *, seconds: float = 3.0) -> None:
    """A Y4M video of a still photo with a webcam's sensor noise (as ../shared/tools/photo-to-y4m.py, plus noise):
    a real camera never delivers two byte-identical frames, and the burst refuses those as a replay."""
    import cv2
    import numpy as np

    image = cv2.imread(str(photo))
    height, width = image.shape[:2]
    scale = min(1.0, 640 / max(width, height))
    width, height = int(width * scale) // 2 * 2, int(height * scale) // 2 * 2
    image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA).astype(np.int16)
    rng = np.random.default_rng(7)
    with out.open("wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F30:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(int(30 * seconds)):
            noisy = np.clip(image + rng.normal(0, 3, image.shape), 0, 255).astype(np.uint8)
            f.write(b"FRAME\n" + cv2.cvtColor(noisy, cv2.COLOR_BGR2YUV_I420).tobytes())


@pytest.fixture
def fast_clock(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Heartbeats every second; a gap over two seconds is credited back."""
    monkeypatch.setitem(app.config, "CBT_HEARTBEAT_SECONDS", 1)
    monkeypatch.setitem(app.config, "CBT_OFFLINE_GRACE_SECONDS", 2)


@pytest.fixture
def browser(chromium_path: str) -> Iterator[Any]:  # noqa: F811
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def test_check_in_at_the_desk_with_a_fake_camera(app, live_url, chromium_path, tmp_path) -> None:  # noqa: F811
    from playwright.sync_api import sync_playwright

    camera = tmp_path / "face.y4m"
    noisy_camera(FACES / "identities/deepface__dp01/5.jpg", camera)
    with app.app_context():
        where = sessions_data.centre()
        item = sessions_data.item()
        session = today_session(where, [item])
        booking = candidate(session, item, library="identities/deepface__dp01/2.jpg", name="张一")
        account = centre_staff(where).login_name
        ids = session.id, booking.id
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={camera}",
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=args)
        try:
            page = browser.new_context(base_url=live_url).new_page()
            page.goto("/login")
            page.fill("input[name=account]", account)
            page.fill("input[name=password]", PASSWORD)
            with page.expect_navigation():
                page.click("main form [type=submit]")
            page.goto(f"/exams/sessions/{ids[0]}/checkin/{ids[1]}")
            wait_until(page, "document.querySelector('video').readyState >= 2", 15)
            assert "摄像头已开启" in page.inner_text("[data-camera-state]")
            page.click("#capture-button")
            page.wait_for_selector("#checkin-status", timeout=60000)
            assert "已入场" in page.inner_text("#checkin-status")
        finally:
            browser.close()
    with app.app_context():
        admitted = checkin.admission(ids[1])
        assert admitted is not None
        assert len(admitted.captures) == 1
        frames = db.session.execute(
            sa.text("SELECT frames_received FROM face_decisions WHERE id = :id"), {"id": admitted.decision_id}
        ).scalar_one()
        assert frames == 5  # the burst


def _seated(app: Flask) -> tuple[str, str, int]:
    """A started session with one admitted candidate: (ticket number, ID number, booking id)."""
    with app.app_context():
        r = room()
        cbt.start_run(viewer=r.staff, session_id=r.session.id)
        db.session.commit()
        booking = r.bookings[0]
        return ticket_of(booking), booking.trainee.id_number, booking.id


def _sign_in(page: Any, ticket: str, number: str) -> None:
    page.goto("/exam")
    page.fill("input[name=ticket]", ticket)
    page.fill("input[name=id_number]", number)
    page.click("#signin-form input[type=submit], #signin-form button[type=submit]")
    page.wait_for_selector("#exam")


def _answer(page: Any, number: int, nth: int = 0) -> str:
    """Click an option of question `number`; the letter clicked."""
    option = page.locator(f'fieldset.question[data-number="{number}"] input').nth(nth)
    option.click()
    return option.get_attribute("value") or ""


def wait_until(page: Any, expression: str, timeout: float = 15.0) -> None:
    """Poll a JavaScript expression until it is true (wait_for_function would need 'unsafe-eval' under the CSP)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.1)


def _state(page: Any, number: int) -> str:
    return page.get_attribute(f'.save-state[data-number="{number}"]', "data-state") or ""


def _saved(app: Flask, booking_id: int) -> dict[int, str]:
    with app.app_context():
        attempt = db.session.execute(sa.select(Attempt).where(Attempt.booking_id == booking_id)).scalar_one()
        return {int(k): v for k, v in cbt.state(attempt, with_answers=True)["answers"].items()}


def test_answers_survive_an_outage_and_a_reload_and_time_is_credited(app, live_url, browser, fast_clock) -> None:  # noqa: F811
    ticket, number, booking_id = _seated(app)
    context = browser.new_context(base_url=live_url)
    page = context.new_page()
    _sign_in(page, ticket, number)
    given = {1: _answer(page, 1)}
    wait_until(page, "document.querySelector('.save-state[data-number=\"1\"]').dataset.state === 'saved'")
    context.set_offline(True)
    given[2], given[3] = _answer(page, 2, 1), _answer(page, 3)
    assert _state(page, 2) == "unsaved"
    assert _state(page, 3) == "unsaved"
    time.sleep(5)
    assert page.get_attribute("#net-state", "data-online") == "0"
    assert _saved(app, booking_id) == {1: given[1]}
    context.set_offline(False)
    wait_until(page, "document.getElementById('unsaved-count').dataset.count === '0'", 20)
    assert _state(page, 2) == "saved"
    assert _saved(app, booking_id) == given
    with app.app_context():
        attempt = db.session.execute(sa.select(Attempt).where(Attempt.booking_id == booking_id)).scalar_one()
        assert attempt.credited_seconds >= 2
    page.reload()
    page.wait_for_selector("#exam")
    for n, letter in given.items():
        assert page.is_checked(f'fieldset.question[data-number="{n}"] input[value="{letter}"]')
        assert _state(page, n) == "saved"
    context.close()


def test_the_paper_is_submitted_at_time_end_and_tampering_is_detected(app, live_url, browser, fast_clock) -> None:  # noqa: F811
    ticket, number, booking_id = _seated(app)
    page = browser.new_context(base_url=live_url).new_page()
    _sign_in(page, ticket, number)
    _answer(page, 1)
    wait_until(page, "document.getElementById('unsaved-count').dataset.count === '0'")
    with app.app_context():
        attempt = db.session.execute(sa.select(Attempt).where(Attempt.booking_id == booking_id)).scalar_one()
        attempt.duration_seconds = int((utcnow() - attempt.started_at).total_seconds()) + 3
        db.session.commit()
    page.wait_for_url("**/exam/done", timeout=20000)
    assert "您已交卷" in page.inner_text("#done")
    with app.app_context():
        attempt = db.session.execute(sa.select(Attempt).where(Attempt.booking_id == booking_id)).scalar_one()
        assert attempt.status is AttemptStatus.SUBMITTED
        assert attempt.submitted_how == "time"
        attempt_id = attempt.id
    runner = app.test_cli_runner()
    assert runner.invoke(args=["exams", "verify-attempt", str(attempt_id)]).exit_code == 0
    with app.app_context():
        db.session.execute(sa.update(AnswerSave).where(AnswerSave.attempt_id == attempt_id).values(answer="A"))
        db.session.commit()
    result = runner.invoke(args=["exams", "verify-attempt", str(attempt_id)])
    assert result.exit_code == 1
    assert "被改动" in result.output


def test_a_moved_seat_is_told_and_sent_back_to_sign_in(app, live_url, browser, fast_clock) -> None:  # noqa: F811
    ticket, number, booking_id = _seated(app)
    page = browser.new_context(base_url=live_url).new_page()
    _sign_in(page, ticket, number)
    with app.app_context():
        attempt = db.session.execute(sa.select(Attempt).where(Attempt.booking_id == booking_id)).scalar_one()
        staff = centre_staff(attempt.booking.session.centre)
        cbt.move(viewer=staff, attempt_id=attempt.id, reason="终端故障")
        db.session.commit()
    wait_until(page, "document.getElementById('exam-banner').textContent.includes('登录已解除')", 10)
    assert page.locator("fieldset.question input").first.is_disabled()
    page.wait_for_selector("#signin-form", timeout=15000)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _gunicorn(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(  # noqa: S603 (our own server)
        [str(BIN / "gunicorn"), "--no-control-socket", "--workers", "1", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return server
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise
            time.sleep(0.2)


def test_a_sigkilled_server_loses_no_acknowledged_answer(app, database_url, browser, tmp_path) -> None:
    ticket, number, booking_id = _seated(app)
    env = {
        **os.environ,
        "OPCERT_SQLALCHEMY_DATABASE_URI": database_url,
        "OPCERT_SECRET_KEY": TEST_CONFIG["SECRET_KEY"],
        "OPCERT_PHOTO_SUBJECT_KEY": TEST_CONFIG["PHOTO_SUBJECT_KEY"],
        "OPCERT_PHOTO_STORAGE_DIR": app.config["PHOTO_STORAGE_DIR"],
        "OPCERT_INSTANCE_PATH": str(tmp_path / "instance"),
        "OPCERT_REDIS_URL": "null",
        "OPCERT_CBT_HEARTBEAT_SECONDS": "1",
        "OPCERT_CBT_OFFLINE_GRACE_SECONDS": "2",
    }
    port = _free_port()
    server = _gunicorn(port, env)
    try:
        page = browser.new_context(base_url=f"http://127.0.0.1:{port}").new_page()
        responses: list[Any] = []
        page.on("response", lambda r: responses.append(r) if r.url.endswith("/exam/save") else None)
        _sign_in(page, ticket, number)
        last: dict[int, str] = {}
        for i in range(40):
            n = i % 10 + 1
            last[n] = _answer(page, n, (i // 10) % 2)
            time.sleep(0.05)
            if i == 20:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=10)
            if i == 30:
                server = _gunicorn(port, env)
        wait_until(page, "document.getElementById('unsaved-count').dataset.count === '0'", 30)
        acked = []
        for response in responses:
            if response.status == 200 and response.json().get("ok"):
                acked.append(response.request.post_data_json)
        assert len(acked) >= 20
        with app.app_context():
            attempt = db.session.execute(sa.select(Attempt).where(Attempt.booking_id == booking_id)).scalar_one()
            stored = {
                s.seq: (s.number, s.answer)
                for s in db.session.execute(sa.select(AnswerSave).where(AnswerSave.attempt_id == attempt.id)).scalars()
            }
            assert cbt.verify_attempt(attempt.id) == []
        for save in acked:
            assert stored[save["seq"]] == (save["number"], save["answer"])
        assert _saved(app, booking_id) == last
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)
