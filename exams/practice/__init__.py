"""Practice for trainees: questions by knowledge point with explanations, the wrong-answer book, timed mock exams."""

from exams.practice.views import bp

__all__ = ["bp"]
