"""The practical exam: task banks with rubrics (K1–K4), examiners, the draw, double blind marking, agreement."""

from exams.practical.views import bp

__all__ = ["bp"]
