"""Names of the audit codes the theory exam writes (registered by create_app)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from opcert.audit.labels import AuditLabels

LABELS = AuditLabels(
    actions={
        "cbt.signed_in": _l("考生登录机考"),
        "cbt.signin_refused": _l("拒绝机考登录"),
        "cbt.save_refused": _l("拒绝保存答案"),
        "cbt.time_credited": _l("补回断网时间"),
        "cbt.submitted": _l("交卷"),
        "cbt.result_refused": _l("理论成绩未能登记"),
        "cbt.run_started": _l("开考"),
        "cbt.run_ended": _l("结束考试"),
        "cbt.paused": _l("暂停考生考试"),
        "cbt.resumed": _l("继续考生考试"),
        "cbt.extended": _l("延长考生考试时间"),
        "cbt.moved": _l("考生换座"),
    },
    objects={"cbt_attempt": _l("机考答卷"), "address": _l("地址")},
    fields={
        "terminal": _l("终端"),
        "code": _l("原因代码"),
        "expected": _l("应为序号"),
        "seconds": _l("秒数"),
        "gap": _l("中断秒数"),
        "how": _l("交卷方式"),
        "score": _l("成绩"),
        "saves": _l("保存次数"),
        "submitted": _l("自动提交份数"),
        "minutes": _l("分钟"),
    },
)
