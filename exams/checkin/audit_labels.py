"""Names of the audit codes the check-in desk writes (registered by create_app)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from exams.checkin.models import CheckInStatus
from opcert.audit.labels import AuditLabels

LABELS = AuditLabels(
    actions={
        "checkin.face_checked": _l("入场人脸核验"),
        "checkin.decided": _l("入场决定"),
        "checkin.manual": _l("人工核对身份证入场"),
    },
    objects={"booking": _l("考试预约")},
    fields={
        "outcome": _l("比对结果"),
        "decision": _l("人脸核验记录"),
        "standin": _l("疑似替考"),
        "supervisor": _l("主管"),
        "reason": _l("理由"),
        "photo": _l("照片"),
    },
    values={"status": {status.value: status.label for status in CheckInStatus}},
)
