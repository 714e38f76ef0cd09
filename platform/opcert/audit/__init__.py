"""The audit log: an append-only, hash-chained record of who did what."""

from opcert.audit.views import bp

__all__ = ["bp"]
