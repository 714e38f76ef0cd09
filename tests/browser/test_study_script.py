"""The lesson page's script in a real Chromium: what it reports for a video (only what played at normal speed,
joined into few segments), and that a network cut does not stop the clock for good (it says so, and recovers)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from opcert.extensions import db
from opcert.training.models import COUNTING, LessonKind, StudyInterval
from opcert.training.services import LessonDraft
from tests.browser.test_csp import CHROMIUM_ARGS, chromium_path, live_url  # noqa: F401 (fixtures)
from tests.factories import PASSWORD, trainee
from tests.training import training_data as data

pytestmark = pytest.mark.browser


def _seconds(app: Flask, trainee_id: int) -> int:
    with app.app_context():
        return int(
            db.session.execute(
                sa.select(sa.func.coalesce(sa.func.sum(StudyInterval.seconds), 0)).where(
                    StudyInterval.trainee_id == trainee_id, StudyInterval.status.in_(COUNTING)
                )
            ).scalar_one()
        )


def _wait(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def _open_lesson(app: Flask, live: str, chromium: str, drafts: list[LessonDraft] | None, work: Callable) -> Any:
    from playwright.sync_api import sync_playwright

    with app.app_context():
        course = data.published_course(drafts=drafts)
        learner = trainee()
        data.enrolled(learner, course)
        lesson_id, trainee_id, number = course.lessons[0].id, learner.id, learner.id_number or ""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"]
        )
        try:
            context = browser.new_context(base_url=live)
            page = context.new_page()
            page.goto("/login")
            page.fill("#account", number)
            page.fill("#password", PASSWORD)
            page.click("main #submit")
            beats: list[dict[str, Any]] = []
            page.on(
                "request",
                lambda r: beats.append(json.loads(r.post_data or "{}")) if r.url.endswith("/beat") else None,
            )
            page.goto(f"/training/lessons/{lesson_id}")
            page.wait_for_selector("#study[data-state='counting']", state="attached", timeout=15_000)
            return work(page, context, trainee_id, beats)
        finally:
            browser.close()


def test_a_lost_heartbeat_does_not_stop_the_clock(app, live_url, chromium_path, quick_clock) -> None:  # noqa: F811
    def work(page: Any, context: Any, trainee_id: int, beats: list) -> None:
        assert _wait(lambda: _seconds(app, trainee_id) >= 2, 20), "the clock runs before the cut"
        context.set_offline(True)
        page.wait_for_selector("#study[data-state='offline']", state="attached", timeout=10_000)
        assert "网络中断" in page.inner_text("#study-status"), "the page says the network is down"
        page.wait_for_timeout(3_000)  # several heartbeats fail
        before = _seconds(app, trainee_id)
        context.set_offline(False)
        page.wait_for_selector("#study[data-state='counting']", state="attached", timeout=10_000)
        assert _wait(lambda: _seconds(app, trainee_id) >= before + 3, 20), "crediting goes on after the cut"
        assert page.get_attribute("#study", "data-state") == "counting"

    _open_lesson(app, live_url, chromium_path, None, work)


def test_video_reports_only_what_played_at_normal_speed(app, live_url, chromium_path, quick_clock) -> None:  # noqa: F811
    clip = data.webm_bytes(seconds=61)
    drafts = [
        LessonDraft(kind=LessonKind.VIDEO, title="视频", minutes=1, data=clip),
        data.text_draft(59),
    ]

    def play(page: Any, seconds: float, rate: float = 1.0) -> None:
        page.evaluate(f"() => {{ const v = document.getElementById('lesson-video'); v.muted = true; "
                      f"v.playbackRate = {rate}; return v.play(); }}")  # fmt: skip
        page.wait_for_timeout(int(seconds * 1000))
        page.evaluate("() => document.getElementById('lesson-video').pause()")

    def work(page: Any, context: Any, trainee_id: int, beats: list) -> tuple[list, int]:
        page.wait_for_function("document.getElementById('lesson-video').readyState >= 1", timeout=15_000)
        play(page, 4)  # 0 .. ~4 s at normal speed
        page.evaluate("() => { document.getElementById('lesson-video').currentTime = 0; }")  # seek back
        play(page, 3)  # replays 0 .. ~3 s: nothing new
        page.evaluate("() => { document.getElementById('lesson-video').currentTime = 20; }")
        play(page, 4, rate=4.0)  # 20 .. ~36 s, four times faster than the cap allows
        page.wait_for_timeout(2_500)  # the last heartbeats go out
        return beats, _seconds(app, trainee_id)

    beats, credited = _open_lesson(app, live_url, chromium_path, drafts, work)
    played = [segment for beat in beats for segment in beat.get("played", [])]
    assert played, "normal playback is reported"
    assert all(end <= 5.5 for _start, end in played), f"nothing played faster than the cap is reported: {played}"
    assert all(len(beat.get("played", [])) <= 2 for beat in beats), "one stretch of play is one segment"
    assert 2 <= credited <= 6, f"credit is the first play only (replay and fast play count nothing): {credited}"
