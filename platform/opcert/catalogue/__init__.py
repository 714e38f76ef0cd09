"""The catalogue of operation categories and items, editable by administrators."""

from opcert.catalogue.views import bp

__all__ = ["bp"]
