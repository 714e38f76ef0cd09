"""Notifications: in-app rows written in the caller's transaction, outside delivery (SMS) after the commit.

Core machinery only: each domain owns the kinds it sends and their wording (exams: `exams.sessions.notices`).
"""

from opcert.notifications.views import bp

__all__ = ["bp"]
