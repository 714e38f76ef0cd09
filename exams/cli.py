"""`opcert exams ...` commands."""

from __future__ import annotations

from flask.cli import AppGroup

from exams.bank.cli import export_questions_command, import_questions_command
from exams.cbt.cli import submit_due_command, verify_attempt_command
from exams.practical.cli import load_tasks_command
from exams.results.cli import publish_results_command, record_retraining_command, verify_results_command
from exams.sessions.cli import remind_command

exams_cli = AppGroup("exams", help="考试：题库、场次、预约 / Exams: question bank, sessions, booking.")

exams_cli.add_command(import_questions_command)
exams_cli.add_command(export_questions_command)
exams_cli.add_command(remind_command)
exams_cli.add_command(load_tasks_command)
exams_cli.add_command(publish_results_command)
exams_cli.add_command(verify_results_command)
exams_cli.add_command(record_retraining_command)

exams_cli.add_command(verify_attempt_command)
exams_cli.add_command(submit_due_command)
