"""Exam results: parts passed or failed, makeup and retraining, validity, publication, exports, qualification."""

from exams.results.views import bp

__all__ = ["bp"]
