"""Names of the audit codes certificates writes, for the administrators' audit log (registered by create_app)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from opcert.audit.labels import AuditLabels
from opcert.certificates.models import CertificateStatus

LABELS = AuditLabels(
    actions={
        "certificate.issued": _l("发证"),
        "certificate.verified": _l("核验证书"),
        "certificate.status_changed": _l("变更证书状态"),
        "certificate.verify_throttled": _l("证书查询过于频繁，已暂缓"),
    },
    objects={
        "certificate": _l("证书"),
        "address": _l("地址"),
    },
    fields={
        "kid": _l("印章密钥"),
        "method": _l("核验方式"),
        "result": _l("结果"),
    },
    values={
        "status": {status.value: status.label for status in CertificateStatus},
        "from": {status.value: status.label for status in CertificateStatus},
        "to": {status.value: status.label for status in CertificateStatus},
        "method": {"number": _l("证号和姓名"), "qr": _l("二维码")},
        "result": {"found": _l("查到"), "not_found": _l("未查到"), "valid": _l("有效"), "not_on_record": _l("无记录")},
    },
)
