"""Names of the audit codes the calendar writes (registered by create_app)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from opcert.audit.labels import AuditLabels
from opcert.calendar.models import DAY_KIND_LABELS

LABELS = AuditLabels(
    actions={
        "calendar.day_saved": _l("保存节假日或调休上班日"),
        "calendar.day_removed": _l("删除节假日或调休上班日"),
    },
    objects={"calendar_day": _l("日历日期")},
    fields={"kind": _l("类型"), "name": _l("名称")},
    values={"kind": {k.value: v for k, v in DAY_KIND_LABELS.items()}},
)
