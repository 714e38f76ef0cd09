"""Exam centres' rooms and sessions, eligibility, booking with a waitlist, rescheduling, no-shows, ticket pages."""

from exams.sessions import photo_grants
from exams.sessions.views import bp

bp.record_once(photo_grants.register)

__all__ = ["bp"]
