"""Check-in at the exam centre's door: ticket scan, face comparison, staff and supervisor decisions, stand-ins."""

from exams.checkin.views import bp

__all__ = ["bp"]
