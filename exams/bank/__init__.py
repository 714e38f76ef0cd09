"""Question bank: questions per operation item, import/export, blueprints, paper generation, item statistics."""

from exams.bank.views import bp

__all__ = ["bp"]
