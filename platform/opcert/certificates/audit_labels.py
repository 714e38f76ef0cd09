"""Names of the audit codes certificates writes, for the administrators' audit log (registered by create_app)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from opcert.audit.labels import AuditLabels
from opcert.certificates.applications_models import Matter
from opcert.certificates.models import CertificateStatus
from opcert.certificates.sanctions_models import SanctionKind
from opcert.certificates.service_models import RatingLevel

LABELS = AuditLabels(
    actions={
        "certificate.issued": _l("发证"),
        "certificate.verified": _l("核验证书"),
        "certificate.status_changed": _l("变更证书状态"),
        "certificate.verify_throttled": _l("证书查询过于频繁，已暂缓"),
        "certificate.application_submitted": _l("提交发证申请"),
        "certificate.application_resubmitted": _l("补正后重新提交发证申请"),
        "certificate.application_refused": _l("发证申请被拒收"),
        "certificate.application_foreign": _l("试图审核其他发证机关的申请"),
        "certificate.application_accepted": _l("受理发证申请"),
        "certificate.application_returned": _l("退回发证申请补正"),
        "certificate.application_approved": _l("批准发证申请"),
        "certificate.application_first_approval": _l("发证申请第一次批准（待第二人批准）"),
        "certificate.application_decided_refused": _l("不予发证"),
        "certificate.renewal_refused": _l("复审、延期复审或补办申请被拒收"),
        "certificate.renewal_approval_refused": _l("复审、延期复审或补办不能批准"),
        "certificate.reviewed": _l("复审合格"),
        "certificate.extended": _l("延期复审合格，换发新证"),
        "certificate.reissued": _l("补发证书"),
        "certificate.sanctioned": _l("暂扣、解除暂扣、撤销或注销证书"),
        "certificate.sanction_refused": _l("证书暂扣、撤销或注销被拒绝"),
        "certificate.sanction_foreign": _l("试图处理其他发证机关的证书"),
        "certificate.cancellation_requested": _l("持证人申请注销证书"),
        "certificate.cancellation_request_refused": _l("持证人注销申请被拒收"),
        "certificate.mail_queued": _l("证卡进入邮寄队列"),
        "certificate.mail_sent": _l("证卡已寄出"),
        "certificate.mail_delivered": _l("证卡已签收"),
        "certificate.mail_returned": _l("证卡被退回"),
        "certificate.mail_foreign": _l("试图办理其他发证机关的邮寄件"),
        "certificate.mail_readdressed": _l("更正地址后重新邮寄证卡"),
        "certificate.rated": _l("服务评价"),
        "certificate.rating_refused": _l("重复评价被拒绝"),
        "certificate.rating_followup_opened": _l("差评转入整改"),
        "certificate.rating_followup_closed": _l("差评整改办结"),
        "certificate.rating_followup_foreign": _l("试图办理其他发证机关的差评整改"),
    },
    objects={
        "certificate": _l("证书"),
        "address": _l("地址"),
        "certificate_application": _l("发证申请"),
        "item": _l("操作项目"),
        "mailing": _l("邮寄件"),
        "rating": _l("服务评价"),
        "rating_followup": _l("差评整改"),
    },
    fields={
        "kid": _l("印章密钥"),
        "method": _l("核验方式"),
        "result": _l("结果"),
        "reason": _l("理由"),
        "item": _l("操作项目"),
        "delivery": _l("领证方式"),
        "commitment": _l("承诺书版本"),
        "corrections": _l("补正项数"),
        "certificate": _l("证书"),
        "matter": _l("事项"),
        "review_due_on": _l("下次复审日期"),
        "kind": _l("处理"),
        "until": _l("暂扣至"),
        "bars_until": _l("不得再次申请至"),
        "status": _l("状态"),
        "courier": _l("快递公司"),
        "tracking": _l("运单号"),
        "level": _l("评价等级"),
        "due": _l("办结期限"),
        "closed": _l("办结情况"),
    },
    values={
        "status": {status.value: status.label for status in CertificateStatus},
        "from": {status.value: status.label for status in CertificateStatus},
        "to": {status.value: status.label for status in CertificateStatus},
        "kind": {kind.value: kind.label for kind in SanctionKind},
        "delivery": {"electronic": _l("仅电子证书"), "mail": _l("邮寄实体卡")},
        "method": {"number": _l("证号和姓名"), "qr": _l("二维码")},
        "matter": {**{matter.value: matter.label for matter in Matter}, "mail": _l("证卡邮寄")},
        "level": {level.value: level.label for level in RatingLevel},
        "closed": {"on_time": _l("按期办结"), "late": _l("逾期办结")},
        "result": {"found": _l("查到"), "not_found": _l("未查到"), "valid": _l("有效"), "not_on_record": _l("无记录")},
    },
)
