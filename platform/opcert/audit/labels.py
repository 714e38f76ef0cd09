"""People's names for the audit log's raw codes: actions, record types, detail fields and their values.

The log stores raw codes (they are hashed into the chain and exported as they are); the administrators' page
shows these names instead. Each domain owns the wording of the codes it writes: core's are here, photos and
exams register theirs (`register_labels`, from create_app). An unknown code is shown as it is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TypeAlias

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

Label: TypeAlias = str | LazyString


@dataclasses.dataclass(frozen=True)
class AuditLabels:
    """One domain's names: action codes, object types, detail keys, and detail values per key."""

    actions: Mapping[str, Label] = dataclasses.field(default_factory=dict)
    objects: Mapping[str, Label] = dataclasses.field(default_factory=dict)
    fields: Mapping[str, Label] = dataclasses.field(default_factory=dict)
    values: Mapping[str, Mapping[str, Label]] = dataclasses.field(default_factory=dict)


CORE_LABELS = AuditLabels(
    actions={
        "user.registered": _l("学员注册"),
        "user.register_throttled": _l("注册尝试过于频繁，已暂缓"),
        "login.succeeded": _l("登录成功"),
        "login.failed": _l("登录失败"),
        "login.throttled": _l("登录被暂时锁定"),
        "login.disabled_account": _l("已停用账号尝试登录"),
        "login.totp_failed": _l("动态验证码错误"),
        "logout": _l("退出登录"),
        "session.revoked": _l("结束登录会话"),
        "user.password_changed": _l("修改密码"),
        "user.totp_enrolled": _l("绑定动态验证码"),
        "user.totp_reset": _l("解除动态验证码绑定"),
        "user.created": _l("创建工作人员账号"),
        "user.role_changed": _l("变更角色或所属机构"),
        "user.enabled": _l("启用账号"),
        "user.disabled": _l("停用账号"),
        "user.password_reset": _l("管理员重置密码"),
        "organisation.saved": _l("保存机构信息"),
        "catalogue.loaded": _l("载入作业目录"),
        "catalogue.category_saved": _l("保存作业类别"),
        "catalogue.item_saved": _l("保存操作项目"),
        "audit.exported": _l("导出审计日志"),
    },
    objects={
        "user": _l("用户"),
        "account": _l("登录账号"),
        "user_session": _l("登录会话"),
        "organisation": _l("机构"),
        "catalogue": _l("作业目录"),
        "category": _l("作业类别"),
        "item": _l("操作项目"),
        "catalogue_item": _l("操作项目"),
        "audit_log": _l("审计日志"),
    },
    fields={
        "role": _l("角色"),
        "organisation": _l("所属机构"),
        "before": _l("变更前"),
        "after": _l("变更后"),
        "name": _l("名称"),
        "kind": _l("类型"),
        "code": _l("代码"),
        "changed": _l("改动"),
        "created": _l("新建"),
        "categories_created": _l("新建类别数"),
        "items_created": _l("新建项目数"),
        "items_updated": _l("更新项目数"),
        "items_unchanged": _l("未变项目数"),
        "filter": _l("筛选条件"),
    },
    values={"kind": {"authority": _l("发证机关"), "exam_centre": _l("考点"), "training_provider": _l("培训机构")}},
)

_REGISTERED: list[AuditLabels] = [CORE_LABELS]


def register_labels(labels: AuditLabels) -> None:
    """Add a domain's names (registering the same set twice changes nothing)."""
    if all(known is not labels for known in _REGISTERED):
        _REGISTERED.append(labels)


def _find(pick: Callable[[AuditLabels], Mapping[str, Label]], key: str) -> str:
    for labels in _REGISTERED:
        found = pick(labels).get(key)
        if found is not None:
            return str(found)
    return key


def action_label(code: str) -> str:
    """The action's name, or the raw code when no domain names it."""
    return _find(lambda labels: labels.actions, code)


def object_label(object_type: str) -> str:
    """The record type's name, or the raw type."""
    return _find(lambda labels: labels.objects, object_type)


def field_label(key: str) -> str:
    """A detail key's name, or the raw key."""
    return _find(lambda labels: labels.fields, key)


def value_label(key: str, value: str) -> str | None:
    """A detail value's name under its key (e.g. a status), or None when none is registered."""
    for labels in _REGISTERED:
        found = labels.values.get(key, {}).get(value)
        if found is not None:
            return str(found)
    return None


def known_actions() -> set[str]:
    """Every action code some domain has named."""
    return {code for labels in _REGISTERED for code in labels.actions}
