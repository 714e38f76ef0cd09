"""Exam start under load: N candidates sign in at their seats within a window and save about one answer a second.

    .venv/bin/python bench/exam_start.py [--db postgresql|sqlite] [--candidates 300] [--window 30] [--answering 30]
                                         [--workers 4] [--url postgresql://postgres@127.0.0.1:5432/postgres]

Builds a fresh database (a scratch PostgreSQL database dropped afterwards, or a SQLite file) with a question bank,
one theory session started by its invigilator and N admitted candidates, and starts gunicorn. Each candidate (one
client thread) opens the seat page, signs in with the ticket number and ID number at a random moment within
`--window` seconds, then saves an answer about every second (jittered) for `--answering` seconds, in sequence, as
the exam page does. Counted as an error: any sign-in or save not acknowledged. Then, in the same run, the
saturated throughput of saves and of a bare endpoint (/healthz: one database round trip) with the same number of
client threads; the ratio compares them. Last line: one JSON object (errors, p50_ms, p99_ms, saves_per_s, ratio).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.cookiejar
import json
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import flask_migrate
from harness import add_database_arguments, gunicorn, id_number, new_secret_key, scratch_database

from exams.bank import services as bank
from exams.bank.models import QuestionKind
from exams.cbt import services as cbt
from exams.checkin.models import CheckIn, CheckInMethod, CheckInStatus
from exams.sessions import applications, bookings, planning
from exams.sessions.models import ExamPart, RoomLayout
from exams.sessions.tickets import ticket_number
from opcert import create_app
from opcert.access import Role
from opcert.accounts import services as accounts
from opcert.accounts.models import OrgKind
from opcert.catalogue.models import Category, Education, Item
from opcert.db import utcnow
from opcert.extensions import db
from opcert.timeutil import local

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PASSWORD = "Secure2026pw"  # noqa: S105 (bench accounts in a throw-away database)
CSRF_FORM = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
CSRF_EXAM = re.compile(r'data-csrf="([^"]+)"')
OPTION = re.compile(r'name="q(\d+)" id="[^"]+" value="([A-Z])"')


def _bank_csv(true_false: int, single: int) -> bytes:
    lines = ["题型,题干,A,B,C,D,E,F,答案,知识点,难度,解析,状态"]
    lines += [f"判断题,判断题{n},,,,,,,{'对' if n % 2 else '错'},,,,启用" for n in range(true_false)]
    lines += [f"单选题,单选题{n},甲{n},乙{n},丙{n},丁{n},,,{'ABCD'[n % 4]},,,,启用" for n in range(single)]
    return ("\n".join(lines) + "\n").encode("utf-8-sig")


def prepare(url: str, candidates: int) -> list[tuple[str, str]]:
    """Migrate; a bank, a started theory session, admitted candidates; their (ticket number, ID number)."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": os.environ["OPCERT_SECRET_KEY"],
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_KIB": 8192,
            "ARGON2_PARALLELISM": 1,
            "PHOTO_SUBJECT_KEY": "bench",
            # Exam day is measured, not training: the candidates are booked without 40 credited study hours.
            "TRAINING_REQUIRED": False,
        }
    )
    with app.app_context():
        flask_migrate.upgrade()
        category = Category(code="B", name="基准测试")
        item = Item(category=category, code="B.1", name="基准项目", offered=True, education=Education.JUNIOR)
        db.session.add_all([category, item])
        db.session.flush()
        bank.import_questions(item_id=item.id, filename="bank.csv", data=_bank_csv(90, 45))
        bank.save_blueprint(
            item_id=item.id,
            rows=[bank.RowSpec(QuestionKind.TRUE_FALSE, 70, 1), bank.RowSpec(QuestionKind.SINGLE, 30, 1)],
            duration_minutes=120,
            pass_mark=80,
        )
        authority = accounts.save_organisation(
            org=None, kind=OrgKind.AUTHORITY, name="基准发证机关", address="", contact="", authority_id=None
        )
        centre = accounts.save_organisation(
            org=None, kind=OrgKind.EXAM_CENTRE, name="基准考点", address="", contact="", authority_id=authority.id
        )
        staff = accounts.create_staff(
            role=Role.CENTRE_STAFF, username="benchstaff", real_name="监考员", mobile="13800001111",
            password=PASSWORD, organisation_id=centre.id,
        )  # fmt: skip
        room = planning.save_room(
            centre=centre, room=None, name="1号机房", layout=RoomLayout.COMPUTER, seats=candidates, seats_per_row=10
        )
        past = utcnow() - dt.timedelta(days=10)
        session = planning.save_session(
            centre=centre,
            session=None,
            plan=planning.SessionPlan(
                room_id=room.id, item_ids=[item.id], part=ExamPart.THEORY,
                starts_at=utcnow() + dt.timedelta(minutes=1), duration_minutes=120, capacity=candidates,
                booking_opens_at=past, booking_closes_at=past + dt.timedelta(days=9),
                cancel_deadline=past + dt.timedelta(days=8),
            ),
            now=past,
        )  # fmt: skip
        seats = []
        for n in range(candidates):
            user = accounts.register_trainee(
                real_name="考生", id_number=id_number(n), mobile="13912345678", password=PASSWORD
            )
            applications.sign_commitment(
                trainee=user, healthy=True, no_disqualifying_illness=True, education=Education.SENIOR,
                lives_or_works_in_city=True, truthful=True, signed_name=user.real_name,
            )  # fmt: skip
            booking = bookings.book_seat(
                trainee=user, session_id=session.id, item_id=item.id, now=past + dt.timedelta(minutes=1)
            )
            db.session.add(
                CheckIn(
                    booking_id=booking.id, session_id=session.id, status=CheckInStatus.ADMITTED,
                    method=CheckInMethod.MANUAL, checked_by_id=staff.id, decided_by_id=staff.id,
                    decided_at=utcnow(), reason="基准测试",
                )
            )  # fmt: skip
            number = ticket_number(
                item_code=item.code, exam_day=local(session.starts_at).date(), session_id=session.id, seat=booking.seat
            )
            seats.append((number, user.id_number or ""))
        cbt.start_run(viewer=staff, session_id=session.id)
        db.session.commit()
    return seats


class Seat:
    """One exam terminal: its own cookies (the Flask session with the CSRF token, and the seat's device cookie)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.csrf = ""
        self.options: dict[int, list[str]] = {}
        self.seq = 0

    def call(self, path: str, *, form: dict[str, str] | None = None, body: object = None) -> tuple[int, str]:
        headers = {"X-CSRFToken": self.csrf} if self.csrf else {}
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
        elif body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        req = urllib.request.Request(self.base + path, data=data, headers=headers)  # noqa: S310
        try:
            response = self.opener.open(req, timeout=60)
        except urllib.error.HTTPError as error:
            response = error
        with response:
            return response.status, response.read().decode()

    def sign_in(self, ticket: str, number: str) -> bool:
        status, html = self.call("/exam")
        match = CSRF_FORM.search(html)
        if status != 200 or not match:
            return False
        status, html = self.call("/exam", form={"ticket": ticket, "id_number": number, "csrf_token": match.group(1)})
        exam = CSRF_EXAM.search(html)
        if status != 200 or not exam:
            return False
        self.csrf = exam.group(1)
        for question, letter in OPTION.findall(html):
            self.options.setdefault(int(question), []).append(letter)
        return len(self.options) == 100

    def save(self, rng: random.Random) -> tuple[bool, float]:
        number = rng.randint(1, len(self.options))
        self.seq += 1
        body = {"seq": self.seq, "number": number, "answer": rng.choice(self.options[number])}
        started = time.perf_counter()
        status, text = self.call("/exam/save", body=body)
        elapsed = time.perf_counter() - started
        return status == 200 and json.loads(text).get("ok") is True, elapsed


def saturate(action: object, threads: int, seconds: float) -> float:
    """Requests per second that `threads` client threads get through `action()` (True when answered) in `seconds`."""
    stop = time.perf_counter() + seconds
    counts = [0] * threads

    def loop(i: int) -> None:
        while time.perf_counter() < stop:
            if action(i):  # type: ignore[operator]
                counts[i] += 1

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(loop, range(threads)))
    return sum(counts) / seconds


def run(args: argparse.Namespace, url: str, tmp: Path) -> dict[str, float]:
    new_secret_key()
    started = time.perf_counter()
    seats = prepare(url, args.candidates)
    print(f"[{args.db}] prepared {args.candidates} admitted candidates in {time.perf_counter() - started:.1f} s")
    errors = 0
    lock = threading.Lock()
    latencies: list[float] = []
    with gunicorn(url, tmp, workers=args.workers, settings={"TRAINING_REQUIRED": "false"}) as base:
        t0 = time.perf_counter()
        terminals = [Seat(base) for _ in seats]

        def candidate(i: int) -> None:
            nonlocal errors
            rng = random.Random(i)
            time.sleep(rng.uniform(0, args.window))
            if not terminals[i].sign_in(*seats[i]):
                with lock:
                    errors += 1
                return
            until = time.perf_counter() + args.answering
            while time.perf_counter() < until:
                ok, elapsed = terminals[i].save(rng)
                with lock:
                    latencies.append(elapsed)
                    errors += 0 if ok else 1
                time.sleep(max(0.0, rng.uniform(0.8, 1.2) - elapsed))

        with ThreadPoolExecutor(len(seats)) as pool:
            list(pool.map(candidate, range(len(seats))))
        paced_wall = time.perf_counter() - t0
        threads = args.saturate_threads
        rngs = [random.Random(1000 + i) for i in range(threads)]
        saves_per_s = saturate(lambda i: terminals[i].save(rngs[i])[0], threads, args.saturate_seconds)
        probe = Seat(base)
        bare_per_s = saturate(lambda i: probe.call("/healthz")[0] == 200, threads, args.saturate_seconds)
    cuts = statistics.quantiles(latencies, n=100)
    print(
        f"[{args.db}] {len(seats)} candidates signed in within {args.window} s and saved for {args.answering} s "
        f"({paced_wall:.0f} s): {len(latencies)} saves, {errors} errors, "
        f"p50 {cuts[49] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms, {len(latencies) / paced_wall:.0f} saves/s"
    )
    print(
        f"[{args.db}] saturated with {args.saturate_threads} threads, gunicorn {args.workers} workers: "
        f"saves {saves_per_s:.0f}/s, bare /healthz {bare_per_s:.0f}/s, ratio {saves_per_s / bare_per_s:.2f}"
    )
    return {
        "errors": errors,
        "p50_ms": round(cuts[49] * 1000, 1),
        "p99_ms": round(cuts[98] * 1000, 1),
        "saves_per_s": round(saves_per_s, 1),
        "ratio": round(saves_per_s / bare_per_s, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    add_database_arguments(parser, default="postgresql")
    parser.add_argument("--candidates", type=int, default=300)
    parser.add_argument("--window", type=float, default=30.0, help="seconds over which the candidates sign in")
    parser.add_argument("--answering", type=float, default=30.0, help="seconds each candidate keeps saving")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--saturate-threads", type=int, default=16)
    parser.add_argument("--saturate-seconds", type=float, default=10.0)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="opcert-bench-exam-") as folder,
        scratch_database(args, Path(folder)) as url,
    ):
        result = run(args, url, Path(folder))
    print(json.dumps(result))
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
