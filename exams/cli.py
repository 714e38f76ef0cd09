"""`opcert exams ...` commands."""

from __future__ import annotations

from flask.cli import AppGroup

exams_cli = AppGroup("exams", help="考试：题库、场次、预约 / Exams: question bank, sessions, booking.")
