"""Names of the audit codes photos writes, for the administrators' audit log (registered by create_app)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from opcert.audit.labels import AuditLabels
from photos.models import SOURCE_LABELS

LABELS = AuditLabels(
    actions={
        "photo.stored": _l("存储照片"),
        "photo.fetched": _l("从统一照片库调取照片"),
        "photo.viewed": _l("查看照片"),
        "photo.imported": _l("批量导入照片库"),
        "photo.subject_forgotten": _l("按本人要求删除照片"),
        "photo.purged": _l("清理过期照片和比对记录"),
        "face.consent_granted": _l("同意人脸识别核验"),
        "face.consent_withdrawn": _l("撤回人脸识别同意"),
        "face.verified": _l("人脸比对核验"),
        "face.searched": _l("人脸库检索"),
        "face.refused": _l("人脸核验被拒绝（采集不可用）"),
        "face.reference_added": _l("核验通过的采集加入本人比对模板"),
        "face.engine_switched": _l("切换人脸识别引擎"),
    },
    objects={
        "photo": _l("照片"),
        "photos": _l("照片库"),
        "subject": _l("照片主体"),
        "face_consent": _l("人脸识别同意"),
        "face_decision": _l("人脸比对结果"),
        "face_index": _l("人脸检索库"),
    },
    fields={
        "source": _l("来源"),
        "library_id": _l("照片库编号"),
        "outcome": _l("比对结果"),
        "reason": _l("查看原因"),
        "photos": _l("照片数"),
        "captures": _l("删除的入场照片数"),
        "decisions": _l("删除的比对记录数"),
        "imported": _l("导入数"),
        "skipped": _l("跳过数"),
        "refused": _l("拒收数"),
        "processes": _l("进程数"),
        "purpose": _l("用途"),
        "k": _l("返回人数上限"),
        "found": _l("找到人数"),
    },
    values={
        "source": {source.value: label for source, label in SOURCE_LABELS.items()},
        "outcome": {
            "match": _l("一致"),
            "review": _l("需人工复核"),
            "no_match": _l("不一致"),
            "completed": _l("完成"),
            "interrupted": _l("中断"),
            "failed": _l("失败"),
        },
        "reason": {"self": _l("本人查看"), "staff": _l("工作人员查看"), "ticket": _l("生成准考证")},
    },
)
