"""Names of the audit codes training writes, for the administrators' audit log (registered by create_app)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from opcert.audit.labels import AuditLabels

LABELS = AuditLabels(
    actions={
        "training.course_created": _l("创建培训课程"),
        "training.lesson_added": _l("添加课时"),
        "training.lesson_removed": _l("删除课时"),
        "training.lesson_moved": _l("调整课时顺序"),
        "training.course_submitted": _l("提交课程审核"),
        "training.course_published": _l("发布培训课程"),
        "training.course_returned": _l("退回培训课程"),
        "training.enrolled": _l("报名培训"),
        "training.round_started": _l("开始新一轮复审培训"),
        "training.interval_credited": _l("计入学时"),
        "training.interval_discarded": _l("作废学时"),
        "training.face_check_passed": _l("学习人脸核验通过"),
        "training.face_check_failed": _l("学习人脸核验未通过"),
        "training.face_check_missed": _l("学习人脸核验超时"),
        "training.flagged": _l("学习账号待复核"),
        "training.flag_cleared": _l("解除学习复核"),
        "training.alternative_approved": _l("人工核验通过（学时计入）"),
        "training.evidence_exported": _l("导出培训记录"),
    },
    objects={
        "course": _l("培训课程"),
        "lesson": _l("课时"),
        "study_interval": _l("学时段"),
        "face_check": _l("学习人脸核验"),
    },
    fields={
        "item": _l("操作项目"),
        "kind": _l("课时类型"),
        "minutes": _l("大纲学时（分钟）"),
        "note": _l("审核意见"),
        "seconds": _l("计入秒数"),
        "started_at": _l("开始时间"),
        "ended_at": _l("结束时间"),
        "reason": _l("原因"),
        "from_position": _l("原位置"),
        "to_position": _l("新位置"),
        "failures": _l("连续未通过次数"),
    },
)
