"""Booking under load: N simultaneous booking requests for one session, over HTTP, against gunicorn.

    .venv/bin/python bench/booking.py [--db sqlite|postgresql] [--requests 1000] [--seats 50] [--workers 2]
                                      [--concurrency 100] [--url postgresql://postgres@127.0.0.1:5432/postgres]

Builds a fresh database (SQLite file, or a scratch PostgreSQL database dropped afterwards), one open session with
`--seats` seats and `--requests` eligible trainees each with a logged-in server-side session, starts gunicorn with
`--workers` sync workers, fetches each trainee's booking page once (its CSRF token; not timed), then sends every
booking POST at once from `--concurrency` client threads. Prints p50/p99 latency of the POSTs and throughput, and
checks the outcome: exactly `--seats` bookings, seat numbers 1..seats without duplicates, every other answer a
refusal, no error. Exit code 1 on FAIL.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import flask_migrate
import sqlalchemy as sa
from harness import (
    CSRF_RE,
    PASSWORD,
    add_database_arguments,
    gunicorn,
    id_number,
    new_secret_key,
    request,
    scratch_database,
)

from exams.sessions import applications, planning
from exams.sessions.models import Booking, BookingStatus, ExamPart, RoomLayout
from opcert import create_app
from opcert.accounts import services as accounts
from opcert.accounts.models import OrgKind
from opcert.catalogue.models import Category, Education, Item
from opcert.db import utcnow
from opcert.extensions import db


def prepare(url: str, requests: int, seats: int) -> tuple[int, int, list[str]]:
    """Migrate, create the session and the trainees; return (session id, item id, signed session cookies)."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": os.environ["OPCERT_SECRET_KEY"],
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_KIB": 8192,
            "ARGON2_PARALLELISM": 1,
            "PHOTO_SUBJECT_KEY": "bench",
            # Booking capacity is measured, not training: trainees book without 40 credited study hours.
            "TRAINING_REQUIRED": False,
        }
    )
    with app.app_context():
        flask_migrate.upgrade()
        category = Category(code="B", name="基准测试")
        item = Item(category=category, code="B.1", name="基准项目", offered=True)
        db.session.add_all([category, item])
        authority = accounts.save_organisation(
            org=None, kind=OrgKind.AUTHORITY, name="基准发证机关", address="", contact="", authority_id=None
        )
        centre = accounts.save_organisation(
            org=None, kind=OrgKind.EXAM_CENTRE, name="基准考点", address="", contact="", authority_id=authority.id
        )
        room = planning.save_room(
            centre=centre, room=None, name="1号机房", layout=RoomLayout.COMPUTER, seats=seats, seats_per_row=10
        )
        now = utcnow()
        session = planning.save_session(
            centre=centre,
            session=None,
            plan=planning.SessionPlan(
                room_id=room.id,
                item_ids=[item.id],
                part=ExamPart.THEORY,
                starts_at=now + dt.timedelta(days=10),
                duration_minutes=120,
                capacity=seats,
                booking_opens_at=now - dt.timedelta(days=1),
                booking_closes_at=now + dt.timedelta(days=9),
                cancel_deadline=now + dt.timedelta(days=8),
            ),
        )
        serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
        cookies = []
        for n in range(requests):
            user = accounts.register_trainee(
                real_name="考生", id_number=id_number(n), mobile="13912345678", password=PASSWORD
            )
            applications.sign_commitment(
                trainee=user,
                healthy=True,
                no_disqualifying_illness=True,
                education=Education.SENIOR,
                lives_or_works_in_city=True,
                truthful=True,
                signed_name=user.real_name,
            )
            token = accounts.start_session(user=user, ip="127.0.0.1", user_agent="bench")
            cookies.append(serializer.dumps({"_user_id": token, "_fresh": True}))
        db.session.commit()
        ids = session.id, item.id
        db.engine.dispose()
    return ids[0], ids[1], cookies


def check(url: str, session_id: int, seats: int) -> list[int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        table = Booking.__table__
        rows = conn.execute(
            sa.select(table.c.seat).where(
                table.c.session_id == session_id, table.c.status == BookingStatus.CONFIRMED.value
            )
        ).scalars()
        found = sorted(rows)
    engine.dispose()
    return found


def run(args: argparse.Namespace, url: str, tmp: Path) -> bool:
    new_secret_key()
    started = time.perf_counter()
    session_id, item_id, cookies = prepare(url, args.requests, args.seats)
    print(f"[{args.db}] prepared {args.requests} trainees in {time.perf_counter() - started:.1f} s")
    with gunicorn(url, tmp, workers=args.workers, settings={"TRAINING_REQUIRED": "false"}) as base:
        page = f"{base}/exams/sessions/{session_id}"
        forms: list[tuple[str, str]] = []

        def warm(cookie: str) -> tuple[str, str]:
            status, html, _, cookie = request(page, cookie)
            match = CSRF_RE.search(html)
            if status != 200 or not match:
                raise RuntimeError(f"booking page answered {status}")
            return cookie, match.group(1)

        with ThreadPoolExecutor(16) as pool:
            forms = list(pool.map(warm, cookies))
        gate = threading.Barrier(args.concurrency)
        latencies: list[float] = []
        outcomes: list[tuple[int, str]] = []

        def book(form: tuple[str, str], first: bool) -> None:
            cookie, token = form
            if first:
                gate.wait()
            t0 = time.perf_counter()
            status, _, location, _ = request(f"{page}/book", cookie, {"item_id": str(item_id), "csrf_token": token})
            latencies.append(time.perf_counter() - t0)
            outcomes.append((status, location))

        t_start = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            list(pool.map(book, forms, [i < args.concurrency for i in range(len(forms))]))
        wall = time.perf_counter() - t_start
    booked = sum(1 for s, loc in outcomes if s == 302 and loc.endswith("/bookings"))
    refused = sum(1 for s, loc in outcomes if s == 302 and loc.endswith(f"/exams/sessions/{session_id}"))
    other = len(outcomes) - booked - refused
    seats = check(url, session_id, args.seats)
    ok = booked == args.seats and seats == list(range(1, args.seats + 1)) and other == 0
    cuts = statistics.quantiles(latencies, n=100)
    print(
        f"[{args.db}] {len(outcomes)} booking requests, {args.concurrency} concurrent, gunicorn {args.workers} workers:"
        f" booked {booked}, refused (full) {refused}, other {other}; seats 1..{len(seats)} unique: "
        f"{seats == list(range(1, args.seats + 1))}"
    )
    print(
        f"[{args.db}] latency p50 {cuts[49] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms, "
        f"max {max(latencies) * 1000:.1f} ms; throughput {len(outcomes) / wall:.0f} requests/s ({wall:.2f} s)"
    )
    print(f"[{args.db}] {'PASS' if ok else 'FAIL'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    add_database_arguments(parser, default="sqlite")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--seats", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=100)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="opcert-bench-booking-") as folder,
        scratch_database(args, Path(folder)) as url,
    ):
        return 0 if run(args, url, Path(folder)) else 1


if __name__ == "__main__":
    sys.exit(main())
