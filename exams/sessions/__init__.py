"""Exam centres' rooms and sessions, eligibility, booking with a waitlist, rescheduling, no-shows, ticket pages."""

from exams.sessions.views import bp

__all__ = ["bp"]
