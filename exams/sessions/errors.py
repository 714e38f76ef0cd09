"""The refusals of exam sessions and bookings (DomainError subclasses, each with its field and Chinese message)."""

from __future__ import annotations

from opcert.errors import DomainError


class BookingError(DomainError):
    """A booking, cancellation or move was refused."""


class SessionFullError(BookingError):
    """No seat is left in the session."""


class TransitionError(DomainError):
    """A status change that the life cycle does not allow."""
