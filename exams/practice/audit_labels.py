"""Names of the audit codes practice writes (registered by create_app with exams' own)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from exams.practice.models import FINISH_LABELS
from opcert.audit.labels import AuditLabels

LABELS = AuditLabels(
    actions={"practice.mock_graded": _l("模拟考试评分")},
    objects={"mock_exam": _l("模拟考试")},
    fields={
        "paper": _l("试卷"),
        "score": _l("得分"),
        "passed": _l("是否合格"),
        "finish": _l("交卷方式"),
        "answered": _l("已答题数"),
    },
    values={"finish": {finish.value: label for finish, label in FINISH_LABELS.items()}},
)
