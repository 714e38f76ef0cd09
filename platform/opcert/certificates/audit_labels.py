"""Names of the audit codes certificates writes, for the administrators' audit log (registered by create_app)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from opcert.audit.labels import AuditLabels
from opcert.certificates.api_models import ApiClient
from opcert.certificates.models import CertificateStatus

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
        "api.token_created": _l("创建数据共享接口令牌"),
        "api.token_revoked": _l("吊销数据共享接口令牌"),
        "api.refused": _l("数据共享接口拒绝调用"),
        "api.throttled": _l("数据共享接口调用过于频繁，已限流"),
        "api.read": _l("数据共享接口读取证书数据"),
    },
    objects={
        "certificate": _l("证书"),
        "address": _l("地址"),
        "certificate_application": _l("发证申请"),
        "item": _l("操作项目"),
        "api_token": _l("接口令牌"),
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
        "endpoint": _l("接口"),
        "count": _l("证书数"),
        "client": _l("调用方"),
        "expires": _l("有效期至"),
    },
    values={
        "status": {status.value: status.label for status in CertificateStatus},
        "from": {status.value: status.label for status in CertificateStatus},
        "to": {status.value: status.label for status in CertificateStatus},
        "delivery": {"electronic": _l("仅电子证书"), "mail": _l("邮寄实体卡")},
        "method": {"number": _l("证号和姓名"), "qr": _l("二维码")},
        "client": {client.value: client.label for client in ApiClient},
        "endpoint": {"changes": _l("变更证书列表"), "certificate": _l("按证号查询")},
        "code": {
            "token_missing": _l("缺少令牌"),
            "token_malformed": _l("令牌格式错误"),
            "token_wrong": _l("令牌无效"),
            "token_expired": _l("令牌已过期"),
            "token_revoked": _l("令牌已吊销"),
            "address_throttled": _l("地址被暂缓"),
            "bad_parameter": _l("参数有误"),
            "not_found": _l("证号不存在"),
        },
        "result": {"found": _l("查到"), "not_found": _l("未查到"), "valid": _l("有效"), "not_on_record": _l("无记录")},
    },
)
