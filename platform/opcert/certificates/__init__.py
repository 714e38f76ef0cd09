"""Certificates: the electronic seal, issuance, the certificate PDF and QR code, public verification.

May call exams (results, through `sources`), training, photos and the core; nothing calls it.
"""

from opcert.certificates import (
    sanctions_views,  # noqa: F401  (its routes join the blueprint)
    service_views,  # noqa: F401  (adds the mail and 好差评 pages to bp)
)
from opcert.certificates.views import bp

__all__ = ["bp"]
