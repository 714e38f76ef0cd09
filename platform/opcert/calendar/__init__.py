"""The working-day calendar (core): public holidays and 调休 working days administrators maintain.

Every deadline counted in working days (exam results' publication, certificate applications) uses
`services.add_working_days`; nothing else decides what a working day is.
"""

from opcert.calendar.views import bp

__all__ = ["bp"]
