"""The competent authority (事权下放): routing rules pick the most specific authority, applications go there, and
only that authority's officers see and decide them; administrators keep the rules on an audited page."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask import Flask

from exams.results import services as results
from exams.sessions.models import ExamPart
from opcert.access import Role
from opcert.accounts.models import Organisation, OrgKind, User
from opcert.audit.models import AuditEvent
from opcert.catalogue.models import Item
from opcert.certificates import applications, renewal, routing
from opcert.certificates.applications_models import ApplicationStatus
from opcert.certificates.applications_models import Matter as AppMatter
from opcert.certificates.authority_models import Matter, RoutingRule
from opcert.extensions import db
from tests.certificates import certs_data
from tests.exams.practical import practical_data as pd
from tests.exams.sessions import sessions_data as sessions
from tests.factories import PASSWORD, id_number, organisation, staff, trainee
from tests.fixtures.web import login, submit, text

PUDONG, FENGXIAN, HUANGPU = "310115", "310120", "310101"


def _admin() -> User:
    return staff(Role.ADMIN)


def _rule(actor: User, authority: Organisation, **conditions: object) -> RoutingRule:
    spec = routing.RuleSpec(authority_id=authority.id, **conditions)  # type: ignore[arg-type]
    rule = routing.save_rule(rule=None, spec=spec, actor=actor)
    db.session.commit()
    return rule


def _person(region: str) -> User:
    return trainee(name="申请人", number=id_number(region=region))


def _passed_in(region: str) -> tuple[User, Item]:
    """A person registered with an ID number of `region` who passed both exam parts of a new item (committed)."""
    item = sessions.item()
    centre = sessions.centre()
    theory = pd.session(centre, item, ExamPart.THEORY, starts_in=dt.timedelta(days=-20))
    practical = pd.session(centre, item, ExamPart.PRACTICAL, starts_in=dt.timedelta(days=-5))
    user = _person(region)
    results.record_part_result(person_id=user.id, item_id=item.id, part=ExamPart.THEORY, score=88, session_id=theory.id)
    results.record_part_result(
        person_id=user.id, item_id=item.id, part=ExamPart.PRACTICAL, score=90, session_id=practical.id
    )
    results.publish_results(session_id=theory.id)
    results.publish_results(session_id=practical.id)
    db.session.commit()
    return user, item


def _authorities() -> dict[str, Organisation]:
    city = organisation(OrgKind.AUTHORITY, name="上海市应急管理局（路由）")
    names = {
        "pudong": "浦东新区应急管理局",
        "lingang": "临港新片区管委会",
        "special": "特设审批机关",
        "chem": "危化审批机关",
    }
    found = {key: organisation(OrgKind.AUTHORITY, name=name, authority=city) for key, name in names.items()}
    return {"city": city, **found}


def test_the_most_specific_rule_wins_and_the_city_bureau_is_the_default(app: Flask, db) -> None:
    app.config["CERT_APPLICATION_AUTHORITY"] = ""  # the default: the bureau that reports to no other
    orgs = _authorities()
    admin = _admin()
    item_x, item_y = sessions.item(), sessions.item()
    _rule(admin, orgs["lingang"], district=FENGXIAN, note="向临港新片区下放行政审批事项")
    _rule(admin, orgs["city"], matter=Matter.FIRST_ISSUE.value, note="特种作业人员的安全操作资格认定除外")
    _rule(admin, orgs["pudong"], district=PUDONG)
    _rule(admin, orgs["special"], district=PUDONG, item_id=item_x.id)
    _rule(admin, orgs["chem"], category_id=item_y.category_id)

    def route(matter: Matter, item: Item, district: str) -> str:
        return routing.route(matter=matter, item=item, district=district).name

    # The seed's Lingang delegation: every approval except the certification itself, which stays with the city.
    assert route(Matter.REVIEW, item_x, FENGXIAN) == "临港新片区管委会"
    assert route(Matter.FIRST_ISSUE, item_x, FENGXIAN) == orgs["city"].name
    # A district and an item outrank the district alone; a named matter outranks both.
    assert route(Matter.REVIEW, item_x, PUDONG) == "特设审批机关"
    assert route(Matter.REVIEW, item_y, PUDONG) == "浦东新区应急管理局"
    assert route(Matter.FIRST_ISSUE, item_x, PUDONG) == orgs["city"].name
    # A category rule applies to its items anywhere without a more specific rule.
    if item_y.category_id != item_x.category_id:
        assert route(Matter.REVIEW, item_y, HUANGPU) == "危化审批机关"
    assert route(Matter.REISSUE, item_y, "") == route(Matter.REISSUE, item_y, HUANGPU)
    # No rule at all: the default authority, the setting's when set, else the bureau that reports to no other.
    db.session.execute(sa.delete(RoutingRule))
    assert route(Matter.REVIEW, item_x, PUDONG) == orgs["city"].name
    app.config["CERT_APPLICATION_AUTHORITY"] = "浦东新区应急管理局"
    assert route(Matter.REVIEW, item_x, PUDONG) == "浦东新区应急管理局"


def test_a_rule_for_a_disabled_authority_gives_way_to_the_next(app: Flask, db) -> None:
    orgs = _authorities()
    admin = _admin()
    item = sessions.item()
    _rule(admin, orgs["pudong"], district=PUDONG)
    _rule(admin, orgs["special"], district=PUDONG, item_id=item.id)
    orgs["special"].is_active = False
    db.session.commit()
    assert routing.route(matter=Matter.REVIEW, item=item, district=PUDONG).name == "浦东新区应急管理局"


def test_the_applicants_district_comes_from_the_id_number(app: Flask, db) -> None:
    assert routing.applicant_district(_person(PUDONG)) == PUDONG
    assert routing.applicant_district(_person("110101")) == ""  # Beijing: no Shanghai district, no district rule


def test_an_application_goes_to_the_routed_authority_and_only_its_officers_see_it(app: Flask, db) -> None:
    orgs = _authorities()
    city_officer, pudong_officer = staff(Role.OFFICER, org=orgs["city"]), staff(Role.OFFICER, org=orgs["pudong"])
    _rule(_admin(), orgs["pudong"], district=PUDONG, note="一业一证")
    pudong_user, pudong_item = _passed_in(PUDONG)
    city_user, city_item = _passed_in(HUANGPU)
    sent = [
        applications.submit_application(
            user=u, item=i, signed=True, delivery=applications.Delivery.ELECTRONIC, mail=applications.MailAddress()
        )
        for u, i in ((pudong_user, pudong_item), (city_user, city_item))
    ]
    db.session.commit()
    assert [a.authority.name for a in sent] == ["浦东新区应急管理局", orgs["city"].name]
    assert [a.id for a in applications.queue(pudong_officer)] == [sent[0].id]
    assert [a.id for a in applications.queue(city_officer)] == [sent[1].id]
    with pytest.raises(applications.ApplicationError, match="不属于您所在发证机关"):
        applications.reviewable(city_officer, sent[0].id)
    db.session.commit()
    foreign = sa.select(AuditEvent).where(AuditEvent.action == "certificate.application_foreign")
    assert db.session.execute(foreign).scalar_one().actor_id == city_officer.id
    applications.accept(officer=pudong_officer, application=applications.reviewable(pudong_officer, sent[0].id))
    db.session.commit()
    assert sent[0].status is ApplicationStatus.ACCEPTED


def _admin_client(app: Flask):
    with app.app_context():
        admin = _admin()
        account, secret = admin.login_name, admin.totp_secret
    client = app.test_client()
    assert login(client, account, PASSWORD, secret).status_code == 302
    return client


def test_administrators_add_edit_and_remove_rules_on_the_page_audited(app: Flask) -> None:
    with app.app_context():
        orgs = _authorities()
        item = sessions.item()
        ids = {key: org.id for key, org in orgs.items()}
        item_id, category_id = item.id, item.category_id
        other_category = sessions.item()
        other_category_id = other_category.category_id
    client = _admin_client(app)
    page = "/admin/routing"
    listing = text(client.get(page))
    assert "没有匹配规则时由默认发证机关办理：上海市应急管理局（路由）" in listing
    added = submit(client, page, {"district": PUDONG, "authority_id": ids["pudong"], "note": "一业一证"}, page=page)
    assert added.status_code == 302
    listing = text(client.get(page))
    assert "浦东新区应急管理局" in listing
    assert "一业一证" in listing
    # Bad input: a clear message each, nothing saved.
    empty = text(submit(client, page, {"authority_id": ids["special"]}, page=page))
    assert "至少设置一个条件" in empty
    twice = text(submit(client, page, {"district": PUDONG, "authority_id": ids["special"]}, page=page))
    assert "已有条件完全相同的分派规则" in twice
    if other_category_id != category_id:
        wrong = {"category_id": other_category_id, "item_id": item_id, "authority_id": ids["special"]}
        assert "所选操作项目不属于所选作业类别" in text(submit(client, page, wrong, page=page))
    no_authority = text(submit(client, page, {"district": PUDONG, "authority_id": 999999}, page=page))
    assert "不是有效的选择" in no_authority  # an authority that is not offered (unknown, or disabled)
    with app.app_context():
        rule_id = db.session.execute(sa.select(RoutingRule.id)).scalar_one()
    edit = f"/admin/routing/{rule_id}"
    assert PUDONG in text(client.get(edit))
    changed = {"district": PUDONG, "item_id": item_id, "authority_id": ids["special"]}
    assert submit(client, edit, changed, page=edit).status_code == 302
    with app.app_context():
        rule = db.session.get(RoutingRule, rule_id)
        assert (rule.item_id, rule.authority_id) == (item_id, ids["special"])
    assert submit(client, f"/admin/routing/{rule_id}/remove", page=page).status_code == 302
    assert client.get("/admin/routing/999999").status_code == 404
    with app.app_context():
        assert db.session.execute(sa.select(sa.func.count()).select_from(RoutingRule)).scalar_one() == 0
        actions = db.session.execute(
            sa.select(AuditEvent.action).where(AuditEvent.action.like("certificate.routing_%")).order_by(AuditEvent.id)
        ).scalars()
        assert list(actions) == [
            "certificate.routing_saved",
            "certificate.routing_saved",
            "certificate.routing_removed",
        ]


def test_the_demo_routes_pudong_but_keeps_the_certification_with_the_city(app: Flask, runner) -> None:
    """`opcert demo` writes the seed's 事权下放: Pudong's matters go to Pudong, the certification stays with the city;
    a rerun adds nothing."""
    assert runner.invoke(args=["demo"]).exit_code == 0
    again = runner.invoke(args=["demo"])
    assert "routing rules added: 0" in again.output
    with app.app_context():
        item = sessions.item()
        assert routing.route(matter=Matter.REVIEW, item=item, district=PUDONG).name == "浦东新区应急管理局"
        assert routing.route(matter=Matter.FIRST_ISSUE, item=item, district=PUDONG).name == "上海市应急管理局"
        assert routing.route(matter=Matter.REVIEW, item=item, district=HUANGPU).name == "上海市应急管理局"


def test_later_matters_are_routed_by_their_own_rules_then_the_default(app: Flask, db) -> None:
    app.config["CERT_APPLICATION_AUTHORITY"] = ""
    orgs = _authorities()
    admin = _admin()
    _rule(admin, orgs["city"], matter=Matter.FIRST_ISSUE.value, note="安全操作资格认定由市局办理")
    _rule(admin, orgs["lingang"], district=FENGXIAN)
    user, item = _person(FENGXIAN), certs_data.item()
    certificate = certs_data.issued(user, item)
    mail = applications.MailAddress()

    def reissue() -> str:
        application = renewal.apply_for_reissue(
            user=user, certificate=certificate, reason="遗失", delivery=applications.Delivery.ELECTRONIC, mail=mail
        )
        name = application.authority.name
        officer = staff(Role.OFFICER, org=application.authority)
        applications.accept(officer=officer, application=application)
        applications.approve(officer=officer, application=application)  # done with: the next may be submitted
        db.session.commit()
        return name

    assert applications.competent_authority(user, item).name == orgs["city"].name
    assert applications.competent_authority(user, item, AppMatter.REVIEW).name == "临港新片区管委会"
    assert applications.competent_authority(user, item, AppMatter.EXTENSION).name == "临港新片区管委会"
    assert reissue() == "临港新片区管委会"
    _rule(admin, orgs["special"], matter=Matter.REISSUE.value)
    _rule(admin, orgs["chem"], matter=Matter.REVIEW.value, district=FENGXIAN)
    assert reissue() == "特设审批机关"
    assert applications.competent_authority(user, item, AppMatter.EXTENSION).name == "危化审批机关"
    db.session.execute(sa.delete(RoutingRule))
    assert reissue() == orgs["city"].name  # no rule: the default authority, as for a first issue
