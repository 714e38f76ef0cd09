"""The data-sharing API: token life, every refusal, the change feed paged across changes, answers valid against
the OpenAPI document (every call goes through api_data.call, which validates it)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from opcert.audit.models import AuditEvent
from opcert.certificates import api, services
from opcert.certificates.api_models import ApiToken
from opcert.certificates.models import CertificateStatus
from opcert.errors import DomainError
from tests.certificates import api_data
from tests.certificates import certs_data as data
from tests.certificates.api_data import call

T0 = data.ISSUED_AT
NAMES = ("张三丰", "李四海", "王五月", "赵六合", "钱七星", "孙八方")


@pytest.fixture(autouse=True)
def _restore_api_settings(app):
    keys = ("API_RATE_LIMIT", "API_REFUSAL_THROTTLE_THRESHOLD", "API_SETTLE_SECONDS")
    saved = {key: app.config[key] for key in keys}
    yield
    app.config.update(saved)


def refusals(db) -> list[dict]:
    rows = db.session.execute(
        sa.select(AuditEvent).where(AuditEvent.action == "api.refused").order_by(AuditEvent.id)
    ).scalars()
    return [json.loads(row.details) for row in rows]


def issue_several(count: int) -> list:
    """`count` certificates of different people, issued an hour apart from T0."""
    return [data.issued(data.holder(name=NAMES[i]), data.item(), now=T0 + dt.timedelta(hours=i)) for i in range(count)]


def test_a_token_is_shown_once_stored_as_a_hash_and_reads_the_feed(db, client) -> None:
    [certificate] = issue_several(1)
    secret = api_data.token()
    row = db.session.execute(sa.select(ApiToken)).scalar_one()
    assert secret.startswith("opc_")
    assert len(secret) > 40
    assert secret not in (row.secret_hash, row.hint, row.name)
    assert row.secret_hash == api.hash_secret(secret)
    body = call(client, "/api/v1/certificates?since=2026-01-01T00:00:00%2B08:00", secret).get_json()
    [record] = body["data"]
    holder = certificate.holder
    assert record["number"] == holder.number
    assert record["id_number"] == holder.id_number
    assert record["name"] == holder.name
    assert record["status"] == "valid"
    assert record["item_code"] == certificate.item.code
    assert record["authority"] == certificate.authority
    assert record["history"][0]["reason"] == "首次发证"
    assert body["has_more"] is False
    db.session.expire_all()
    assert db.session.get(ApiToken, row.id).last_used_at is not None
    reads = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "api.read")).scalars().all()
    assert [json.loads(r.details) for r in reads] == [{"endpoint": "changes", "count": 1}]


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "token_missing"),
        ("Basic dXNlcjpwYXNz", "token_malformed"),
        ("Bearer", "token_malformed"),
        ("Bearer opc_not-a-token-we-made", "token_wrong"),
    ],
)
def test_calls_without_a_good_token_are_401_in_chinese_and_audited(db, client, header, code) -> None:
    api_data.token()
    headers = {"Authorization": header} if header else {}
    response = call(client, "/api/v1/certificates?since=2026-01-01T00:00:00Z", None, **headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    error = response.get_json()["error"]
    assert error["code"] == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"])
    assert refusals(db) == [{"code": code}]


def test_revoked_and_expired_tokens_are_refused(db, client) -> None:
    revoked = api_data.token("将吊销")
    expired = api_data.token("已过期", now=T0, expires_on=T0.date())
    assert call(client, "/api/v1/certificates?since=2026-01-01T00:00:00Z", revoked).status_code == 200
    token_id = db.session.execute(sa.select(ApiToken.id).where(ApiToken.name == "将吊销")).scalar_one()
    api.revoke_token(token_id=token_id, actor_id=None)
    db.session.commit()
    response = call(client, "/api/v1/certificates?since=2026-01-01T00:00:00Z", revoked)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "token_revoked"
    response = call(client, "/api/v1/certificates?since=2026-01-01T00:00:00Z", expired)
    assert response.status_code == 401
    assert response.get_json()["error"]["message"] == "访问令牌已过期，请联系发证机关更换。"
    assert [r["code"] for r in refusals(db)] == ["token_revoked", "token_expired"]
    with pytest.raises(DomainError, match="已经吊销"):
        api.revoke_token(token_id=token_id, actor_id=None)


def test_token_creation_refuses_bad_names_and_expiries(db) -> None:
    today = dt.datetime.now(dt.UTC).date()
    with pytest.raises(DomainError, match="名称"):
        api_data.token("  ")
    with pytest.raises(DomainError, match="不能早于今天"):
        api_data.token(expires_on=today - dt.timedelta(days=2))
    with pytest.raises(DomainError, match="最长366天"):
        api_data.token(expires_on=today + dt.timedelta(days=400))
    assert db.session.execute(sa.select(sa.func.count()).select_from(ApiToken)).scalar() == 0


def test_wrong_tokens_from_one_address_are_held_back(app, db, client) -> None:
    app.config["API_REFUSAL_THROTTLE_THRESHOLD"] = 3
    good = api_data.token()
    for _ in range(3):
        assert call(client, "/api/v1/certificates?since=2026-01-01T00:00:00Z", "opc_guess").status_code == 401
    response = call(client, "/api/v1/certificates?since=2026-01-01T00:00:00Z", good)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert response.get_json()["error"]["code"] == "address_throttled"
    assert [r["code"] for r in refusals(db)] == ["token_wrong"] * 3 + ["address_throttled"]


def test_each_token_is_throttled_in_its_window(app, db, client) -> None:
    app.config["API_RATE_LIMIT"] = 2
    first, second = api_data.token("甲"), api_data.token("乙")
    url = "/api/v1/certificates?since=2026-01-01T00:00:00Z"
    assert [call(client, url, first).status_code for _ in range(4)] == [200, 200, 429, 429]
    response = call(client, url, first)
    assert response.get_json()["error"]["code"] == "rate_limited"
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert call(client, url, second).status_code == 200  # another token has its own window
    throttled = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "api.throttled")).scalars().all()
    assert len(throttled) == 1  # the first call over the limit, not every one after it


def test_a_new_window_lets_the_token_call_again(app, db) -> None:
    app.config["API_RATE_LIMIT"] = 1
    secret = api_data.token()
    api.authenticate(authorization=f"Bearer {secret}", ip="192.0.2.7", now=T0)
    with pytest.raises(api.ApiRefusedError) as refused:
        api.authenticate(authorization=f"Bearer {secret}", ip="192.0.2.7", now=T0 + dt.timedelta(seconds=59))
    assert refused.value.status == 429
    assert refused.value.retry_after == 1
    assert api.authenticate(authorization=f"Bearer {secret}", ip="192.0.2.7", now=T0 + dt.timedelta(seconds=60))


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("", "请提供 since"),
        ("?since=2026-01-01T00:00:00Z&cursor=djE6MQ", "只能提供一个"),
        ("?since=yesterday", "ISO 8601"),
        ("?since=2026-01-01T00:00:00", "须带时区"),
        ("?cursor=not-ours", "cursor 参数无效"),
        ("?cursor=djI6MQ", "cursor 参数无效"),  # "v2:1"
        ("?since=2026-01-01T00:00:00Z&limit=0", "limit"),
        ("?since=2026-01-01T00:00:00Z&limit=abc", "limit"),
        ("?since=2026-01-01T00:00:00Z&limit=501", "limit"),
    ],
)
def test_bad_parameters_are_400_with_the_reason(db, client, query, fragment) -> None:
    secret = api_data.token()
    response = call(client, "/api/v1/certificates" + query, secret)
    assert response.status_code == 400
    assert fragment in response.get_json()["error"]["message"]
    assert refusals(db)[-1]["code"] == "bad_parameter"


def test_one_holders_certificates_by_number(db, client) -> None:
    person = data.holder()
    first = data.issued(person, data.item("低压电工作业"))
    data.issued(person, data.item("高压电工作业"), now=T0 + dt.timedelta(days=1))
    secret = api_data.token()
    number = first.holder.number
    body = call(client, f"/api/v1/certificates/{number}", secret, kind="certificate").get_json()
    assert [r["item_name"] for r in body["data"]] == ["低压电工作业", "高压电工作业"]
    assert {r["number"] for r in body["data"]} == {number}
    lower = call(client, f"/api/v1/certificates/{number.lower()}", secret, kind="certificate")
    assert lower.status_code == 200
    unknown = call(client, "/api/v1/certificates/T110101199001011237", secret, kind="certificate")
    assert unknown.status_code == 404
    assert unknown.get_json()["error"]["message"] == "没有该证号的证书。"
    malformed = call(client, "/api/v1/certificates/T12345", secret, kind="certificate")
    assert malformed.status_code == 400
    assert "证号格式" in malformed.get_json()["error"]["message"]
    assert [r["code"] for r in refusals(db)] == ["not_found", "bad_parameter"]


def test_status_reason_and_date_as_recorded_and_by_the_calendar(db, client) -> None:
    suspended, aged = issue_several(2)
    services.change_status(
        certificate=suspended,
        status=CertificateStatus.SUSPENDED,
        reason="违章作业，暂扣6个月",
        actor_id=None,
        now=T0 + dt.timedelta(days=3),
    )
    db.session.commit()
    page = api.changed_certificates(
        token=_token_row(db),
        since="2026-01-01T00:00:00Z",
        cursor=None,
        limit=None,
        now=dt.datetime(2032, 11, 3, tzinfo=dt.UTC),  # six years on: the other one has run out
    )
    records = {r["name"]: r for r in page["data"]}
    mine = records[suspended.holder.name]
    assert (mine["status"], mine["status_reason"], mine["status_date"]) == (
        "suspended",
        "违章作业，暂扣6个月",
        "2026-11-05",
    )
    assert [h["status"] for h in mine["history"]] == ["valid", "suspended"]
    theirs = records[aged.holder.name]
    assert (theirs["status"], theirs["status_reason"], theirs["status_date"]) == (
        "expired",
        "有效期届满",
        aged.valid_until.isoformat(),
    )


def _token_row(db) -> ApiToken:
    api_data.token()
    return db.session.execute(sa.select(ApiToken)).scalar_one()


def feed(client, secret: str, query: str) -> dict:
    response = call(client, "/api/v1/certificates" + query, secret)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_paging_across_changes_skips_nothing_and_serves_the_newest_state(db, client) -> None:
    certificates = issue_several(5)
    names = [c.holder.name for c in certificates]
    secret = api_data.token()
    page = feed(client, secret, "?since=2026-11-01T00:00:00%2B08:00&limit=2")
    assert [r["name"] for r in page["data"]] == names[:2]
    assert page["has_more"] is True
    # Between pages: one already read and one not yet read change.
    for certificate, status in (
        (certificates[0], CertificateStatus.REVOKED),
        (certificates[3], CertificateStatus.SUSPENDED),
    ):
        services.change_status(
            certificate=certificate, status=status, reason="依法处理", actor_id=None, now=T0 + dt.timedelta(days=1)
        )
    db.session.commit()
    seen = [r["name"] for r in page["data"]]
    statuses = {}
    while page["has_more"]:
        page = feed(client, secret, f"?cursor={page['next_cursor']}&limit=2")
        seen += [r["name"] for r in page["data"]]
        statuses.update({r["name"]: r["status"] for r in page["data"]})
    assert seen == [names[0], names[1], names[2], names[4], names[0], names[3]]
    assert statuses[names[0]] == "revoked"
    assert statuses[names[3]] == "suspended"
    assert set(seen) == set(names)  # every certificate came at least once
    # Polling later with the last cursor: nothing new, then exactly the next change.
    quiet = feed(client, secret, f"?cursor={page['next_cursor']}")
    assert quiet["data"] == []
    assert quiet["has_more"] is False
    assert quiet["next_cursor"] == page["next_cursor"]
    services.change_status(
        certificate=certificates[2],
        status=CertificateStatus.CANCELLED,
        reason="本人申请注销",
        actor_id=None,
        now=T0 + dt.timedelta(days=2),
    )
    db.session.commit()
    latest = feed(client, secret, f"?cursor={quiet['next_cursor']}")
    assert [(r["name"], r["status"], r["status_reason"]) for r in latest["data"]] == [
        (names[2], "cancelled", "本人申请注销")
    ]
    assert latest["data"][0]["change"]["at"] == "2026-11-04T02:00:00Z"


def test_since_keeps_only_later_changes_and_an_empty_page_still_gives_a_cursor(db, client) -> None:
    certificates = issue_several(3)
    secret = api_data.token()
    later = feed(client, secret, "?since=2026-11-02T11:00:00%2B08:00")  # 03:00Z: the second and third
    assert [r["name"] for r in later["data"]] == [c.holder.name for c in certificates[1:]]
    empty = feed(client, secret, "?since=2030-01-01T00:00:00Z")
    assert empty["data"] == []
    assert empty["has_more"] is False
    assert feed(client, secret, f"?cursor={empty['next_cursor']}")["data"] == []  # nothing after the newest event


def test_changes_younger_than_the_settle_time_wait_for_the_next_call(app, db) -> None:
    app.config["API_SETTLE_SECONDS"] = 5
    [certificate] = issue_several(1)
    token = _token_row(db)
    first = api.changed_certificates(
        token=token, since="2026-01-01T00:00:00Z", cursor=None, limit=None, now=T0 + dt.timedelta(seconds=3)
    )
    assert first["data"] == []
    later = api.changed_certificates(
        token=token, since=None, cursor=first["next_cursor"], limit=None, now=T0 + dt.timedelta(seconds=6)
    )
    assert [r["number"] for r in later["data"]] == [certificate.holder.number]


def test_the_openapi_document_is_served_and_its_schemas_are_valid(client) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.get_json() == api_data.DOCUMENT
    assert api_data.DOCUMENT["openapi"].startswith("3.1")
    for name, schema in api_data.DOCUMENT["components"]["schemas"].items():
        assert isinstance(name, str)
        api_data.Draft202012Validator.check_schema(schema)
    # Every path the API serves is described.
    described = set(api_data.DOCUMENT["paths"])
    served = {
        rule.rule.removeprefix("/api/v1").replace("<string:number>", "{number}")
        for rule in client.application.url_map.iter_rules()
        if rule.rule.startswith("/api/v1")
    }
    assert served == described


def test_a_response_that_breaks_the_document_is_caught(db, client) -> None:
    """The check is real: a body with a wrong field fails it."""
    issue_several(1)
    secret = api_data.token()
    response = client.get(
        "/api/v1/certificates?since=2026-01-01T00:00:00Z", headers={"Authorization": f"Bearer {secret}"}
    )
    body = response.get_json()
    body["data"][0]["status"] = "lost"
    response.set_data(json.dumps(body))
    with pytest.raises(AssertionError, match="status"):
        api_data.check_against_openapi("/certificates", response)


def test_api_answers_set_no_cookie_and_are_not_cached(db, client) -> None:
    secret = api_data.token()
    response = client.get(
        "/api/v1/certificates?since=2026-01-01T00:00:00Z", headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert "no-store" in response.headers["Cache-Control"]
