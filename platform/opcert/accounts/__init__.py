"""Accounts: registration, login with throttling and two-factor codes, sessions, staff, organisations."""

from opcert.accounts.views import bp

__all__ = ["bp"]
