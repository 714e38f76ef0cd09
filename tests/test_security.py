"""Security headers on every response, and no inline script, style or event handler on any page (a crawl of the
populated site as each role, so the CSP can stay strict)."""

from __future__ import annotations

from opcert.access import EXEMPT_ENDPOINTS, Role
from opcert.demo import DEMO_PASSWORD
from opcert.extensions import db
from opcert.security import CONTENT_SECURITY_POLICY
from tests.factories import PASSWORD, staff
from tests.fixtures.database import make_app
from tests.fixtures.site import ACCOUNTS, crawl, endpoint_of, seed_site, start_urls, totp_secret
from tests.fixtures.web import login

# GET endpoints a crawl of the demo site cannot show with a 200, and why.
NOT_SHOWN = {
    "accounts.setup_totp": "only during a first login without an authenticator (checked on its own below)",
    "accounts.verify_totp": "only between the password and the code (checked on its own below)",
    "api.changed_certificates": "JSON for a bearer token, not a page (checked in tests/certificates/test_api.py)",
    "api.certificate": "JSON for a bearer token, not a page (checked in tests/certificates/test_api.py)",
}


def test_every_page_as_every_role_carries_the_headers_and_no_inline_code(app) -> None:
    site = seed_site(app)
    start = start_urls(app, site.extra_urls)
    shown: set[str] = set()
    problems: list[str] = []
    for role, account in ACCOUNTS.items():
        client = app.test_client()
        if account is not None:
            assert login(client, account, DEMO_PASSWORD, totp_secret=totp_secret(account)).status_code == 302, role
        result = crawl(app, client, start)
        assert result.pages > 10, role
        shown |= result.shown
        problems.extend(f"{role.value if role else 'anonymous'} {problem}" for problem in result.problems)
    assert not problems, "\n".join(problems)
    get_endpoints = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or set()) and rule.endpoint not in EXEMPT_ENDPOINTS
    }
    never_shown = sorted(get_endpoints - shown - NOT_SHOWN.keys())
    assert never_shown == [], f"pages the crawl never showed: {never_shown}"


def test_the_two_factor_pages_carry_the_headers_and_no_inline_code(app) -> None:
    with app.app_context():
        enrolling = staff(Role.OFFICER, with_totp=False).login_name
        enrolled = staff(Role.ADMIN)
        enrolled_name = enrolled.login_name
    for account, page in ((enrolling, "/login/setup-2fa"), (enrolled_name, "/login/verify")):
        client = app.test_client()
        assert login(client, account, PASSWORD).headers["Location"].endswith(page)
        result = crawl(app, client, [page])
        assert result.problems == []
        assert endpoint_of(app, page) in result.shown


def test_hsts_only_in_production(app, database_url) -> None:
    assert "Strict-Transport-Security" not in app.test_client().get("/healthz").headers
    production = make_app(database_url, ENV="production")
    try:
        response = production.test_client().get("/healthz")
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    finally:
        with production.app_context():
            db.engine.dispose()
