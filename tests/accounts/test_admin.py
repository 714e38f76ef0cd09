"""Administration pages: staff accounts with the right organisation, role changes, organisations, user search."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from opcert.access import Role
from opcert.accounts import services
from opcert.accounts.models import Organisation, OrgKind, User
from opcert.audit.models import AuditEvent
from opcert.errors import DomainError
from opcert.extensions import db
from tests.factories import PASSWORD, id_number, organisation, staff, trainee
from tests.fixtures.web import login, submit, text

NEW_PASSWORD = "Staff2026pass"


@dataclasses.dataclass(frozen=True)
class Orgs:
    """One organisation of each kind, by id."""

    authority: int
    centre: int
    provider: int

    def of(self, kind: OrgKind | None) -> int:
        return {OrgKind.AUTHORITY: self.authority, OrgKind.EXAM_CENTRE: self.centre}.get(kind, self.provider)


@pytest.fixture
def orgs(app) -> Orgs:
    with app.app_context():
        authority = organisation(OrgKind.AUTHORITY, "上海市应急管理局")
        centre = organisation(OrgKind.EXAM_CENTRE, "浦东考点", authority=authority)
        provider = organisation(OrgKind.TRAINING_PROVIDER, "浦东培训学校", authority=authority)
        return Orgs(authority.id, centre.id, provider.id)


@pytest.fixture
def admin(app, client: FlaskClient) -> int:
    """An administrator logged in through the real pages (password and TOTP code); returns their id."""
    with app.app_context():
        user = staff(Role.ADMIN)
        user_id, username, secret = user.id, user.username or "", user.totp_secret
    assert login(client, username, PASSWORD, secret).status_code == 302
    assert client.get("/admin/users").status_code == 200
    return user_id


def staff_form(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "username": "li.na",
        "real_name": "李娜",
        "mobile": "13700001234",
        "role": Role.CENTRE_STAFF.value,
        "organisation_id": 0,
        "password": NEW_PASSWORD,
    }
    data.update(changes)
    return data


def create(client: FlaskClient, **changes: object):
    return submit(client, "/admin/users/new", staff_form(**changes), page="/admin/users/new")


def count(app, model) -> int:
    with app.app_context():
        return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def user_named(app, username: str) -> User | None:
    with app.app_context():
        user = db.session.execute(sa.select(User).where(User.username == username)).scalars().first()
        if user is not None:
            db.session.expunge(user)
        return user


def audit_rows(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        rows = list(db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == action)).scalars())
        db.session.expunge_all()
        return rows


ROLE_KINDS = [
    (Role.CENTRE_STAFF, OrgKind.EXAM_CENTRE),
    (Role.EXAMINER, OrgKind.EXAM_CENTRE),
    (Role.OFFICER, OrgKind.AUTHORITY),
    (Role.PROVIDER, OrgKind.TRAINING_PROVIDER),
    (Role.ADMIN, None),
]


@pytest.mark.parametrize(("role", "kind"), ROLE_KINDS)
def test_admin_creates_staff_bound_to_the_right_organisation(app, client, admin, orgs, role, kind) -> None:
    org_id = orgs.of(kind) if kind else 0
    response = create(client, role=role.value, organisation_id=org_id)
    assert response.status_code == 302
    assert "已创建账号 li.na" in text(client.get(response.headers["Location"]))
    user = user_named(app, "li.na")
    assert user is not None
    assert user.role == role
    assert user.organisation_id == (org_id or None)
    (event,) = [row for row in audit_rows(app, "user.created") if row.object_id == str(user.id)]
    assert event.actor_id == admin
    # The new person can log in with the initial password (officers and admins go on to enrol an authenticator).
    other = app.test_client()
    location = login(other, "li.na", NEW_PASSWORD).headers["Location"]
    assert location == ("/login/setup-2fa" if role in (Role.OFFICER, Role.ADMIN) else "/")


def test_every_staff_role_is_covered() -> None:
    assert {role for role, _ in ROLE_KINDS} == set(Role) - {Role.TRAINEE}


@pytest.mark.parametrize(
    ("role", "binding", "message"),
    [
        (Role.EXAMINER, None, "该角色必须隶属于一个考点"),
        (Role.CENTRE_STAFF, OrgKind.AUTHORITY, "该角色必须隶属于一个考点"),
        (Role.OFFICER, OrgKind.EXAM_CENTRE, "该角色必须隶属于一个发证机关"),
        (Role.PROVIDER, OrgKind.EXAM_CENTRE, "该角色必须隶属于一个培训机构"),
        (Role.ADMIN, OrgKind.AUTHORITY, "该角色不隶属于任何机构"),
        (Role.ADMIN, OrgKind.EXAM_CENTRE, "该角色不隶属于任何机构"),
        (Role.ADMIN, OrgKind.TRAINING_PROVIDER, "该角色不隶属于任何机构"),
    ],
)
def test_wrong_binding_is_refused_and_nothing_written(app, client, admin, orgs, role, binding, message) -> None:
    users_before, events_before = count(app, User), count(app, AuditEvent)
    response = create(client, role=role.value, organisation_id=orgs.of(binding) if binding else 0)
    assert response.status_code == 200
    assert message in text(response)
    assert count(app, User) == users_before
    assert count(app, AuditEvent) == events_before


def test_binding_to_an_unknown_organisation_is_refused(app, client, admin) -> None:
    response = create(client, role=Role.EXAMINER.value, organisation_id=999999)
    assert response.status_code == 200
    assert "不是有效的选择" in text(response)
    assert user_named(app, "li.na") is None


def test_trainee_accounts_cannot_be_created_here(app, client, admin) -> None:
    response = create(client, role=Role.TRAINEE.value)
    assert response.status_code == 200
    assert "不是有效的选择" in text(response)
    assert user_named(app, "li.na") is None


@pytest.mark.parametrize("username", ["wang.fang", "Wang.Fang"])
def test_duplicate_username_is_refused(app, client, admin, orgs, username) -> None:
    with app.app_context():
        staff(Role.CENTRE_STAFF, username="wang.fang", org=db.session.get(Organisation, orgs.centre))
    users_before = count(app, User)
    response = create(client, username=username, organisation_id=orgs.centre)
    assert response.status_code == 200
    assert "该用户名已被使用" in text(response)
    assert count(app, User) == users_before


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"password": "password1"}, "过于简单"),
        ({"password": "abc12"}, "至少需要8个字符"),
        ({"password": ""}, "至少需要8个字符"),
        ({"password": "abcdefgh"}, "同时包含字母和数字"),
        ({"password": "li.na2026x"}, "不能包含"),
        ({"username": "1abc"}, "用户名须以字母开头"),
        ({"mobile": "123"}, "手机号码"),
    ],
)
def test_bad_staff_data_is_refused(app, client, admin, orgs, changes, message) -> None:
    response = create(client, organisation_id=orgs.centre, **changes)
    assert response.status_code == 200
    assert message in text(response)
    assert user_named(app, "li.na") is None


FEEDBACK_RE = re.compile(r'<div class="invalid-feedback[^"]*"[^>]*>\s*(.*?)\s*</div>', re.S)


def field_errors(response) -> list[str]:
    """The messages shown under the form's fields."""
    return FEEDBACK_RE.findall(text(response))


def test_every_fault_of_a_new_staff_account_is_shown_at_once(app, client, admin, orgs) -> None:
    users_before = count(app, User)
    response = create(client, username="1abc", real_name="", mobile="123", password="abcdefgh", role="examiner")
    assert response.status_code == 200
    errors = field_errors(response)
    assert len(errors) == 5, errors
    for message in ("用户名须以字母开头", "请输入姓名", "手机号码", "该角色必须隶属于一个考点", "同时包含字母和数字"):
        assert any(message in error for error in errors), (message, errors)
    assert count(app, User) == users_before


def test_every_fault_of_an_edited_staff_account_is_shown_at_once(app, client, admin, orgs) -> None:
    with app.app_context():
        user_id = staff(Role.CENTRE_STAFF, org=db.session.get(Organisation, orgs.centre)).id
    page = f"/admin/users/{user_id}"
    form = {"real_name": "", "mobile": "123", "role": Role.OFFICER.value, "organisation_id": orgs.centre}
    response = submit(client, page, form, page=page)
    assert response.status_code == 200
    errors = field_errors(response)
    assert len(errors) == 3, errors
    for message in ("请输入姓名", "手机号码", "该角色必须隶属于一个发证机关"):
        assert any(message in error for error in errors), (message, errors)
    with app.app_context():
        assert db.session.get(User, user_id).role == Role.CENTRE_STAFF


def test_role_change_is_audited_and_ends_that_users_sessions(app, client, admin, orgs) -> None:
    with app.app_context():
        user = staff(Role.CENTRE_STAFF, username="zhou.min", org=db.session.get(Organisation, orgs.centre))
        user_id = user.id
    their_browser = app.test_client()
    assert login(their_browser, "zhou.min", PASSWORD).status_code == 302
    assert their_browser.get("/account").status_code == 200
    page = f"/admin/users/{user_id}"
    form = {"real_name": "周敏", "mobile": "13800001111", "role": Role.EXAMINER.value, "organisation_id": orgs.centre}
    response = submit(client, page, form, page=page)
    assert response.status_code == 302
    assert "账号信息已保存" in text(client.get(page))
    assert user_named(app, "zhou.min").role == Role.EXAMINER
    (event,) = audit_rows(app, "user.role_changed")
    assert event.actor_id == admin
    assert event.object_id == str(user_id)
    details = json.loads(event.details)
    assert details["before"] == {"role": "centre_staff", "organisation": orgs.centre}
    assert details["after"] == {"role": "examiner", "organisation": orgs.centre}
    response = their_browser.get("/account")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_editing_contact_data_keeps_sessions_and_writes_no_role_change(app, client, admin, orgs) -> None:
    with app.app_context():
        user = staff(Role.EXAMINER, username="sun.li", org=db.session.get(Organisation, orgs.centre))
        user_id = user.id
    their_browser = app.test_client()
    login(their_browser, "sun.li", PASSWORD)
    page = f"/admin/users/{user_id}"
    form = {"real_name": "孙丽", "mobile": "13900002222", "role": Role.EXAMINER.value, "organisation_id": orgs.centre}
    assert submit(client, page, form, page=page).status_code == 302
    assert audit_rows(app, "user.role_changed") == []
    assert "孙丽" in text(their_browser.get("/account"))


def test_role_change_to_a_wrong_binding_is_refused(app, client, admin, orgs) -> None:
    with app.app_context():
        user = staff(Role.CENTRE_STAFF, username="qian.jun", org=db.session.get(Organisation, orgs.centre))
        user_id = user.id
    page = f"/admin/users/{user_id}"
    form = {"real_name": "钱军", "mobile": "13800001111", "role": Role.OFFICER.value, "organisation_id": orgs.centre}
    response = submit(client, page, form, page=page)
    assert response.status_code == 200
    assert "该角色必须隶属于一个发证机关" in text(response)
    assert user_named(app, "qian.jun").role == Role.CENTRE_STAFF
    assert audit_rows(app, "user.role_changed") == []


def test_admin_cannot_disable_themselves(app, client, admin) -> None:
    page = f"/admin/users/{admin}"
    response = submit(client, f"/admin/users/{admin}/active", page=page, follow=True)
    assert "不能停用自己的账号" in text(response)
    with app.app_context():
        assert db.session.get(User, admin).is_active
    assert client.get("/admin/users").status_code == 200


def test_admin_disables_and_re_enables_someone_else(app, client, admin, orgs) -> None:
    with app.app_context():
        user = staff(Role.EXAMINER, username="wu.gang", org=db.session.get(Organisation, orgs.centre))
        user_id = user.id
    page = f"/admin/users/{user_id}"
    response = submit(client, f"/admin/users/{user_id}/active", page=page, follow=True)
    assert "账号已停用" in text(response)
    assert "该账号已停用" in text(login(app.test_client(), "wu.gang", PASSWORD))
    response = submit(client, f"/admin/users/{user_id}/active", page=page, follow=True)
    assert "账号已启用" in text(response)
    assert login(app.test_client(), "wu.gang", PASSWORD).status_code == 302


def test_admin_sets_a_new_password(app, client, admin, orgs) -> None:
    with app.app_context():
        user = staff(Role.EXAMINER, username="zheng.hao", org=db.session.get(Organisation, orgs.centre))
        user_id = user.id
    page = f"/admin/users/{user_id}"
    response = submit(client, f"/admin/users/{user_id}/password", {"password": "abc"}, page=page, follow=True)
    assert "至少需要8个字符" in text(response)
    response = submit(client, f"/admin/users/{user_id}/password", {"password": NEW_PASSWORD}, page=page, follow=True)
    assert "密码已重置" in text(response)
    assert "账号或密码错误" in text(login(app.test_client(), "zheng.hao", PASSWORD))
    assert login(app.test_client(), "zheng.hao", NEW_PASSWORD).status_code == 302


# --- organisations -------------------------------------------------------------------------------


def org_form(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "kind": OrgKind.EXAM_CENTRE.value,
        "name": "闵行考点",
        "address": "上海市闵行区",
        "contact": "021-12345678",
        "authority_id": 0,
    }
    data.update(changes)
    return data


def save_org(client: FlaskClient, url: str = "/admin/organisations/new", **changes: object):
    return submit(client, url, org_form(**changes), page=url)


def test_exam_centre_must_name_its_authority(app, client, admin, orgs) -> None:
    before = count(app, Organisation)
    response = save_org(client)
    assert response.status_code == 200
    assert "请选择所属发证机关" in text(response)
    assert count(app, Organisation) == before
    response = save_org(client, authority_id=orgs.centre)  # a centre is not offered as an authority
    assert "不是有效的选择" in text(response)
    assert count(app, Organisation) == before
    response = save_org(client, authority_id=orgs.authority)
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "闵行考点" in page
    assert "上海市应急管理局" in page
    assert count(app, Organisation) == before + 1


def test_service_refuses_a_centre_as_authority(app, orgs) -> None:
    with app.app_context():
        with pytest.raises(DomainError) as caught:
            services.save_organisation(
                org=None, kind=OrgKind.EXAM_CENTRE, name="闵行考点", address="", contact="", authority_id=orgs.centre
            )
        db.session.rollback()
        assert caught.value.reasons == {"authority_id": "请选择所属发证机关。"}
    assert count(app, Organisation) == 3


def test_authority_needs_no_parent(app, client, admin) -> None:
    response = save_org(client, kind=OrgKind.AUTHORITY.value, name="北京市应急管理局")
    assert response.status_code == 302
    assert "北京市应急管理局" in text(client.get("/admin/organisations"))


@pytest.mark.parametrize("name", ["浦东考点", " 浦东考点 "])
def test_duplicate_organisation_name_is_refused(app, client, admin, orgs, name) -> None:
    before = count(app, Organisation)
    response = save_org(client, name=name, authority_id=orgs.authority)
    assert response.status_code == 200
    assert "已有同名机构" in text(response)
    assert count(app, Organisation) == before


def test_renaming_onto_another_name_is_refused(app, client, admin, orgs) -> None:
    url = f"/admin/organisations/{orgs.provider}/edit"
    response = save_org(client, url, kind=OrgKind.TRAINING_PROVIDER.value, name="浦东考点", authority_id=orgs.authority)
    assert "已有同名机构" in text(response)
    response = save_org(client, url, kind=OrgKind.TRAINING_PROVIDER.value, name="浦东职校", authority_id=orgs.authority)
    assert response.status_code == 302
    assert "浦东职校" in text(client.get("/admin/organisations"))


def test_kind_of_an_organisation_with_staff_cannot_change(app, client, admin, orgs) -> None:
    with app.app_context():
        staff(Role.EXAMINER, org=db.session.get(Organisation, orgs.centre))
    url = f"/admin/organisations/{orgs.centre}/edit"
    response = save_org(client, url, kind=OrgKind.TRAINING_PROVIDER.value, name="浦东考点", authority_id=orgs.authority)
    assert response.status_code == 200
    assert "不能更改机构类型" in text(response)
    with app.app_context():
        assert db.session.get(Organisation, orgs.centre).kind == OrgKind.EXAM_CENTRE


def test_every_fault_of_an_organisation_is_shown_at_once(app, client, admin, orgs) -> None:
    before = count(app, Organisation)
    response = save_org(client, name="浦东考点", address="路" * 201, contact="电话" * 51, authority_id=0)
    assert response.status_code == 200
    errors = field_errors(response)
    assert len(errors) == 4, errors
    for message in ("已有同名机构", "地址不能超过200个字符", "联系方式不能超过100个字符", "请选择所属发证机关"):
        assert any(message in error for error in errors), (message, errors)
    assert count(app, Organisation) == before


# --- user list -----------------------------------------------------------------------------------


def test_user_list_searches_by_name_and_id_number(app, client, admin, orgs) -> None:
    number = id_number(dt.date(1979, 6, 1))
    with app.app_context():
        trainee(name="欧阳娜娜", number=number)
        trainee(name="王五", number=id_number(dt.date(1980, 2, 2)))
        staff(Role.EXAMINER, username="ouyang.li", org=db.session.get(Organisation, orgs.centre))
    everyone = text(client.get("/admin/users"))
    assert "欧阳娜娜" in everyone
    assert "王五" in everyone
    assert number not in everyone  # ID numbers are masked in lists
    by_name = text(client.get("/admin/users", query_string={"q": "欧阳"}))
    assert "欧阳娜娜" in by_name
    assert "王五" not in by_name
    assert "共1个账号" in by_name
    by_number = text(client.get("/admin/users", query_string={"q": number.lower()}))
    assert "欧阳娜娜" in by_number
    assert "王五" not in by_number
    by_username = text(client.get("/admin/users", query_string={"q": "OUYANG"}))
    assert "ouyang.li" in by_username
    trainees = text(client.get("/admin/users", query_string={"role": "trainee"}))
    assert "共2个账号" in trainees
    assert "ouyang.li" not in trainees
    nothing = text(client.get("/admin/users", query_string={"q": "不存在的人"}))
    assert "共0个账号" in nothing
