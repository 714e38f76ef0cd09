"""Names of the audit codes certificates writes, for the administrators' audit log (registered by create_app)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from opcert.audit.labels import AuditLabels
from opcert.certificates.models import CertificateStatus

LABELS = AuditLabels(
    actions={
        "certificate.issued": _l("发证"),
    },
    objects={
        "certificate": _l("证书"),
    },
    fields={
        "kid": _l("印章密钥"),
    },
    values={
        "status": {status.value: status.label for status in CertificateStatus},
    },
)
