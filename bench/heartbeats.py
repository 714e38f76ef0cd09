"""Study heartbeats under load: 100 concurrent trainees' heartbeats against gunicorn, as a ratio to a bare endpoint
of the same app (/healthz: one SELECT) under the same gunicorn in the same run.

    .venv/bin/python bench/heartbeats.py [--db postgresql|sqlite] [--trainees 100] [--beats 10] [--workers 2]
        [--rounds 5]

PostgreSQL by default: the production database, where the target applies (`--db sqlite` runs the embedded default,
whose writers take turns: every POST begins with BEGIN IMMEDIATE).

Builds a fresh database with one published course and `--trainees` enrolled trainees (each with a face consent
check waived: face checks off, so the hours are provisional), starts gunicorn, opens each trainee's lesson page and
study lease (not timed), then every trainee sends `--beats` heartbeats in turn (the minimum spacing is set to 0 so
the run is short; credit and caps still apply), all trainees at once. The same threads then call /healthz as often.
The two loads alternate `--rounds` times (a shared machine's slower stretches then weigh on both). Prints p50/p99
and throughput of both; the last line is one JSON object: ratio (heartbeat throughput / bare throughput over all
rounds), errors, p50_ms, p99_ms, and the ratio of each round. Exit code 1 when a heartbeat failed or the ratio is
under 0.5.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import flask_migrate

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import COOKIE, add_database_arguments, gunicorn, id_number, new_secret_key, request, scratch_database

from opcert import create_app
from opcert.access import Role
from opcert.accounts import services as accounts
from opcert.accounts.models import OrgKind
from opcert.catalogue.models import Category, Item
from opcert.extensions import db
from opcert.timeutil import local_today
from opcert.training import services as training
from opcert.training.models import CoursePurpose, LessonKind

PASSWORD = "Secure2026pw"  # noqa: S105 (bench accounts in a throw-away database)


def prepare(url: str, trainees: int) -> tuple[int, list[str]]:
    """Migrate; one published course; enrolled trainees with server-side sessions. (lesson id, cookies)."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": os.environ["OPCERT_SECRET_KEY"],
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_KIB": 8192,
            "ARGON2_PARALLELISM": 1,
            "PHOTO_SUBJECT_KEY": "bench",
        }
    )
    with app.app_context(), app.test_request_context():
        flask_migrate.upgrade()
        category = Category(code="B", name="基准测试")
        item = Item(category=category, code="B.1", name="基准项目", offered=True, theory_hours=1)
        db.session.add_all([category, item])
        authority = accounts.save_organisation(
            org=None, kind=OrgKind.AUTHORITY, name="基准发证机关", address="", contact="", authority_id=None
        )
        school = accounts.save_organisation(
            org=None, kind=OrgKind.TRAINING_PROVIDER, name="基准培训机构", address="", contact="",
            authority_id=authority.id,
        )  # fmt: skip
        author = accounts.create_staff(
            role=Role.PROVIDER, username="benchtrainer", real_name="培训", mobile="13800000000",
            password=PASSWORD, organisation_id=school.id,
        )  # fmt: skip
        course = training.create_course(
            author=author, item_id=item.id, purpose=CoursePurpose.INITIAL, title="基准课程", description=""
        )
        draft = training.LessonDraft(kind=LessonKind.TEXT, title="课时", minutes=60, body="<p>内容</p>")
        lesson = training.add_lesson(course=course, draft=draft)
        training.submit_course(course=course)
        training.review_course(course=course, approve=True, note="")
        serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
        cookies = []
        for n in range(trainees):
            user = accounts.register_trainee(
                real_name="学员", id_number=id_number(n), mobile="13912345678", password=PASSWORD
            )
            training.enrol(trainee=user, item_id=item.id, on=local_today())
            token = accounts.start_session(user=user, ip="127.0.0.1", user_agent="bench")
            cookies.append(serializer.dumps({"_user_id": token, "_fresh": True}))
        db.session.commit()
        lesson_id = lesson.id
        db.engine.dispose()
    return lesson_id, cookies


def post_json(url: str, cookie: str, csrf: str, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    """POST a JSON body with the session cookie and CSRF header; (status, decoded answer)."""
    req = urllib.request.Request(  # noqa: S310
        url,
        data=json.dumps(body).encode(),
        headers={"Cookie": f"{COOKIE}={cookie}", "X-CSRFToken": csrf, "Content-Type": "application/json"},
    )
    try:
        response = urllib.request.urlopen(req, timeout=120)  # noqa: S310
    except urllib.error.HTTPError as error:
        response = error
    with response:
        return response.status, json.loads(response.read().decode() or "{}")


def run(args: argparse.Namespace, url: str, tmp: Path) -> dict[str, object]:
    new_secret_key()
    lesson_id, cookies = prepare(url, args.trainees)
    settings = {
        "TRAINING_FILE_DIR": str(tmp / "files"),
        "STUDY_HEARTBEAT_MIN_SECONDS": "0",
        "TRAINING_FACE_CHECKS_PER_HOUR": "0",
    }
    with gunicorn(url, tmp, workers=args.workers, settings=settings) as base:
        lesson = f"{base}/training/lessons/{lesson_id}"

        def open_page(cookie: str) -> tuple[str, str, str]:
            status, html, _, cookie = request(lesson, cookie)
            csrf = html.split('data-csrf="', 1)[1].split('"', 1)[0] if status == 200 else ""
            code, answer = post_json(lesson + "/start", cookie, csrf, {})
            if code != 200:
                raise RuntimeError(f"start answered {code}: {answer}")
            return cookie, csrf, str(answer["token"])

        with ThreadPoolExecutor(16) as pool:
            pages = list(pool.map(open_page, cookies))

        sent: dict[str, int] = {}  # each page's last heartbeat number, across rounds

        def beats(page: tuple[str, str, str]) -> list[tuple[float, bool]]:
            cookie, csrf, token = page
            out = []
            first = sent.get(token, 0) + 1
            sent[token] = first + args.beats - 1
            for seq in range(first, first + args.beats):
                body = {"token": token, "seq": seq, "visible": True, "active": True}
                t0 = time.perf_counter()
                code, answer = post_json(lesson + "/beat", cookie, csrf, body)
                out.append((time.perf_counter() - t0, code == 200 and answer.get("ok") is True))
            return out

        def bare(page: tuple[str, str, str]) -> list[tuple[float, bool]]:
            out = []
            for _ in range(args.beats):
                t0 = time.perf_counter()
                with urllib.request.urlopen(base + "/healthz", timeout=120) as response:  # noqa: S310
                    ok = response.status == 200
                    response.read()
                out.append((time.perf_counter() - t0, ok))
            return out

        def timed(work: object) -> tuple[list[tuple[float, bool]], float]:
            started = time.perf_counter()
            with ThreadPoolExecutor(len(pages)) as pool:
                results = [r for chunk in pool.map(work, pages) for r in chunk]  # type: ignore[arg-type]
            return results, time.perf_counter() - started

        # Rounds alternate the two loads, so that a slower stretch of a shared machine weighs on both alike.
        heart: list[tuple[float, bool]] = []
        plain: list[tuple[float, bool]] = []
        heart_wall, plain_wall, rounds = 0.0, 0.0, []
        for _ in range(args.rounds):
            some, wall = timed(beats)
            more, bare_wall = timed(bare)
            heart, plain, heart_wall, plain_wall = heart + some, plain + more, heart_wall + wall, plain_wall + bare_wall
            rounds.append(round((len(some) / wall) / (len(more) / bare_wall), 3))
    errors = sum(1 for _, ok in heart if not ok) + sum(1 for _, ok in plain if not ok)
    cuts = statistics.quantiles([t for t, _ in heart], n=100)
    bare_cuts = statistics.quantiles([t for t, _ in plain], n=100)
    heart_rate, bare_rate = len(heart) / heart_wall, len(plain) / plain_wall
    print(f"[{args.db}] heartbeats: {len(heart)} from {len(pages)} trainees, {heart_rate:.0f}/s, "
          f"p50 {cuts[49] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms")  # fmt: skip
    print(f"[{args.db}] bare /healthz: {len(plain)}, {bare_rate:.0f}/s, "
          f"p50 {bare_cuts[49] * 1000:.1f} ms, p99 {bare_cuts[98] * 1000:.1f} ms")  # fmt: skip
    print(f"[{args.db}] ratio per round: {rounds}")
    return {
        "ratio": round(heart_rate / bare_rate, 3),
        "errors": errors,
        "p50_ms": round(cuts[49] * 1000, 1),
        "p99_ms": round(cuts[98] * 1000, 1),
        "rounds": rounds,
        "db": args.db,
        "workers": args.workers,
        "trainees": len(pages),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    add_database_arguments(parser, default="postgresql")
    parser.add_argument("--trainees", type=int, default=100)
    parser.add_argument("--beats", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5, help="alternations of heartbeats and /healthz")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="opcert-bench-heartbeats-") as folder,
        scratch_database(args, Path(folder)) as url,
    ):
        result = run(args, url, Path(folder))
    print(json.dumps(result))
    return 0 if result["errors"] == 0 and float(str(result["ratio"])) >= 0.5 else 1


if __name__ == "__main__":
    sys.exit(main())
