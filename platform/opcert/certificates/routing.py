"""The competent authority (事权下放): which authority's officers receive an application.

Administrators keep rules: a matter (or every matter), an operation category or item (or any), a district of the
applicant (or everywhere) → an authority. Of the rules that match, the most specific wins: a named matter outranks
a district, a district an item, an item its category (the weights below add up to a different sum for every
combination of conditions, so two matching rules never tie). No rule: the default authority, named by the
setting CERT_APPLICATION_AUTHORITY, else the city bureau (the active authority that reports to no other).

The applicant's district is the county code (GB/T 2260) at the head of the ID number: the one district the
platform already holds without asking (零材料); `route()` takes any district, so a declared residence or
workplace can be passed instead once the application records one.
"""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from opcert.accounts.models import Organisation, OrgKind, User
from opcert.audit.services import record_event
from opcert.catalogue.models import Category, Item
from opcert.certificates.authority_models import Matter, RoutingRule
from opcert.db import flush_unique, utcnow
from opcert.errors import DomainError, NotFoundError
from opcert.extensions import db

# Shanghai's districts (GB/T 2260 county-level codes).
DISTRICTS = {
    "310101": _l("黄浦区"),
    "310104": _l("徐汇区"),
    "310105": _l("长宁区"),
    "310106": _l("静安区"),
    "310107": _l("普陀区"),
    "310109": _l("虹口区"),
    "310110": _l("杨浦区"),
    "310112": _l("闵行区"),
    "310113": _l("宝山区"),
    "310114": _l("嘉定区"),
    "310115": _l("浦东新区"),
    "310116": _l("金山区"),
    "310117": _l("松江区"),
    "310118": _l("青浦区"),
    "310120": _l("奉贤区"),
    "310151": _l("崇明区"),
}
WEIGHT_MATTER, WEIGHT_DISTRICT, WEIGHT_ITEM, WEIGHT_CATEGORY = 8, 4, 2, 1


class RoutingError(DomainError):
    """A routing rule that cannot be saved as asked, or no authority to route to."""


@dataclasses.dataclass(frozen=True)
class RuleSpec:
    """What a rule says, as an administrator typed it."""

    matter: str = ""
    category_id: int | None = None
    item_id: int | None = None
    district: str = ""
    authority_id: int = 0
    note: str = ""


def specificity(rule: RoutingRule) -> int:
    """How specific a rule is: the sum of the weights of its conditions."""
    return (
        (WEIGHT_MATTER if rule.matter else 0)
        + (WEIGHT_DISTRICT if rule.district else 0)
        + (WEIGHT_ITEM if rule.item_id else 0)
        + (WEIGHT_CATEGORY if rule.category_id else 0)
    )


def default_authority() -> Organisation:
    """The authority with no rule: CERT_APPLICATION_AUTHORITY by name, else the city bureau."""
    name = str(current_app.config["CERT_APPLICATION_AUTHORITY"] or "")
    query = sa.select(Organisation).where(Organisation.kind == OrgKind.AUTHORITY, Organisation.is_active.is_(True))
    query = query.where(Organisation.name == name) if name else query.where(Organisation.authority_id.is_(None))
    authority = db.session.execute(query.order_by(Organisation.id).limit(1)).scalar()
    if authority is None:
        raise RoutingError(_("尚未设置受理发证申请的发证机关，请联系管理员。"))
    return authority


def active_authorities() -> list[Organisation]:
    """The authorities a rule may name."""
    return list(
        db.session.execute(
            sa.select(Organisation)
            .where(Organisation.kind == OrgKind.AUTHORITY, Organisation.is_active.is_(True))
            .order_by(Organisation.id)
        ).scalars()
    )


def applicant_district(user: User) -> str:
    """The applicant's district code as the platform holds it (the ID number's county code), or ""."""
    code = (user.id_number or "")[:6]
    return code if code in DISTRICTS else ""


def matching_rule(*, matter: Matter, item: Item | None, district: str) -> RoutingRule | None:
    """The most specific rule that applies (to an active authority), if any."""
    conditions = [
        sa.or_(RoutingRule.matter == "", RoutingRule.matter == matter.value),
        sa.or_(RoutingRule.district == "", RoutingRule.district == district),
        sa.or_(RoutingRule.item_id.is_(None), RoutingRule.item_id == (item.id if item else -1)),
        sa.or_(RoutingRule.category_id.is_(None), RoutingRule.category_id == (item.category_id if item else -1)),
        Organisation.is_active.is_(True),
    ]
    rules = db.session.execute(sa.select(RoutingRule).join(RoutingRule.authority).where(*conditions)).scalars()
    return max(rules, key=specificity, default=None)


def route(*, matter: Matter, item: Item | None, district: str) -> Organisation:
    """The authority competent for a matter about an item, for an applicant in a district."""
    rule = matching_rule(matter=matter, item=item, district=district)
    return rule.authority if rule is not None else default_authority()


def competent_authority(*, user: User, item: Item | None, matter: Matter = Matter.FIRST_ISSUE) -> Organisation:
    """The authority competent for this person's matter about this item."""
    return route(matter=matter, item=item, district=applicant_district(user))


def list_rules() -> list[RoutingRule]:
    """Every rule, the most specific first."""
    rules = list(db.session.execute(sa.select(RoutingRule)).scalars())
    return sorted(rules, key=lambda r: (-specificity(r), r.key))


def get_rule(rule_id: int) -> RoutingRule:
    """A rule by id (NotFoundError for an unknown one)."""
    rule = db.session.get(RoutingRule, rule_id)
    if rule is None:
        raise NotFoundError(_("找不到该分派规则。"))
    return rule


def _check(spec: RuleSpec) -> tuple[Organisation | None, dict[str, str]]:
    problems: dict[str, str] = {}
    if spec.matter and spec.matter not in {m.value for m in Matter}:
        problems["matter"] = _("请选择办理事项。")
    if spec.district and spec.district not in DISTRICTS:
        problems["district"] = _("请选择本市的区。")
    category = db.session.get(Category, spec.category_id) if spec.category_id else None
    if spec.category_id and category is None:
        problems["category_id"] = _("请选择作业类别。")
    item = db.session.get(Item, spec.item_id) if spec.item_id else None
    if spec.item_id and item is None:
        problems["item_id"] = _("请选择操作项目。")
    if item is not None and category is not None and item.category_id != category.id:
        problems["item_id"] = _("所选操作项目不属于所选作业类别。")
    authority = db.session.get(Organisation, spec.authority_id) if spec.authority_id else None
    if authority is None or authority.kind is not OrgKind.AUTHORITY or not authority.is_active:
        problems["authority_id"] = _("请选择一个启用中的发证机关。")
    if not (spec.matter or spec.category_id or spec.item_id or spec.district):
        problems["matter"] = _("至少设置一个条件（事项、类别、项目或区）；没有规则时由默认发证机关办理。")
    return authority, problems


def rule_key(spec: RuleSpec) -> str:
    """The conditions of a rule as one string (one rule per combination)."""
    return f"{spec.matter}|{spec.category_id or ''}|{spec.item_id or ''}|{spec.district}"


def _details(rule: RoutingRule) -> dict[str, str]:
    return {"rule": rule.key, "authority": rule.authority.name if rule.authority else str(rule.authority_id)}


def save_rule(*, rule: RoutingRule | None, spec: RuleSpec, actor: User) -> RoutingRule:
    """Add a rule or change one (audited); a second rule with the same conditions is refused."""
    authority, problems = _check(spec)
    if problems or authority is None:
        raise RoutingError(" ".join(problems.values()), problems)
    key = rule_key(spec)
    other = db.session.execute(sa.select(RoutingRule).where(RoutingRule.key == key)).scalar()
    if other is not None and other is not rule:
        raise RoutingError.on_field(_("已有条件完全相同的分派规则，请修改那一条。"), "matter")
    if rule is None:
        rule = RoutingRule()
        db.session.add(rule)
    rule.matter, rule.category_id, rule.item_id, rule.district = (
        spec.matter,
        spec.category_id,
        spec.item_id,
        spec.district,
    )
    rule.key, rule.authority, rule.note = key, authority, spec.note.strip()[:200]
    rule.updated_by, rule.updated_at = actor.id, utcnow()
    flush_unique(_("已有条件完全相同的分派规则，请修改那一条。"), "matter", error=RoutingError)
    record_event(
        "certificate.routing_saved",
        object_type="routing_rule",
        object_id=rule.id,
        details=_details(rule),
        actor_id=actor.id,
    )
    return rule


def remove_rule(*, rule: RoutingRule, actor: User) -> None:
    """Remove a rule (audited): its cases go to the next most specific rule, or the default."""
    details = _details(rule)
    rule_id = rule.id
    db.session.delete(rule)
    db.session.flush()
    record_event(
        "certificate.routing_removed", object_type="routing_rule", object_id=rule_id, details=details, actor_id=actor.id
    )


def describe(rule: RoutingRule) -> dict[str, str]:
    """The rule's conditions in words (任意 for a condition left open)."""
    anything = _("任意")
    return {
        "matter": str(Matter(rule.matter).label) if rule.matter else anything,
        "category": f"{rule.category.code} {rule.category.name}" if rule.category else anything,
        "item": f"{rule.item.code} {rule.item.name}" if rule.item else anything,
        "district": str(DISTRICTS.get(rule.district, rule.district)) if rule.district else anything,
    }
