"""Names of the audit codes exams writes, for the administrators' audit log (registered by create_app)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from exams.bank.models import QuestionKind, QuestionStatus
from exams.sessions.models import SessionStatus
from opcert.audit.labels import AuditLabels

LABELS = AuditLabels(
    actions={
        "questions.imported": _l("导入题目"),
        "question.created": _l("新增题目"),
        "question.updated": _l("修改题目"),
        "question.status_changed": _l("变更题目状态"),
        "question.image_set": _l("设置题目图片"),
        "question.image_removed": _l("删除题目图片"),
        "blueprint.saved": _l("保存组卷规则"),
        "paper.generated": _l("生成试卷"),
        "exam.room_saved": _l("保存考场"),
        "exam.session_saved": _l("保存考试场次"),
        "exam.session_status": _l("变更场次状态"),
        "exam.commitment_signed": _l("签署告知承诺书"),
        "exam.booked": _l("预约考试"),
        "exam.waitlisted": _l("登记候补"),
        "exam.promoted": _l("候补转正"),
        "exam.booking_cancelled": _l("取消预约"),
        "exam.booking_rescheduled": _l("改约"),
        "exam.no_show": _l("登记缺考"),
    },
    objects={
        "question": _l("题目"),
        "paper": _l("试卷"),
        "exam_room": _l("考场"),
        "exam_session": _l("考试场次"),
        "exam_commitment": _l("告知承诺书"),
        "exam_booking": _l("考试预约"),
    },
    fields={
        "file": _l("文件"),
        "count": _l("数量"),
        "item": _l("操作项目"),
        "from": _l("原状态"),
        "to": _l("改为"),
        "width": _l("宽度"),
        "height": _l("高度"),
        "replaced": _l("替换原图"),
        "rows": _l("规则"),
        "duration": _l("考试时长（分钟）"),
        "pass_mark": _l("合格分数"),
        "candidate": _l("考生"),
        "purpose": _l("用途"),
        "seed": _l("随机种子"),
        "status": _l("状态"),
        "session": _l("场次"),
        "seat": _l("座位号"),
    },
    values={
        "status": {status.value: status.label for status in SessionStatus},
        "from": {status.value: status.label for status in QuestionStatus},
        "to": {status.value: status.label for status in QuestionStatus},
        "rows": {kind.value: kind.label for kind in QuestionKind},
    },
)
