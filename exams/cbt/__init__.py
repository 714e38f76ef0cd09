"""The computer-based theory exam: sign-in at the seat, acknowledged saves, the clock, sealing, the console."""

from exams.cbt.views import bp

__all__ = ["bp"]
