"""Names of the audit codes of routing rules and service guides (registered by create_app)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from opcert.audit.labels import AuditLabels

LABELS = AuditLabels(
    actions={
        "certificate.routing_saved": _l("保存发证机关分派规则"),
        "certificate.routing_removed": _l("删除发证机关分派规则"),
        "certificate.guide_saved": _l("保存办事指南新版本"),
    },
    objects={"routing_rule": _l("分派规则"), "service_guide": _l("办事指南")},
    fields={"rule": _l("规则条件"), "authority": _l("办理机关"), "version": _l("版本")},
)
