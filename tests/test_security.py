"""Security headers on every response, and no inline script, style or event handler on any page (a crawl of the
populated site as each role, so the CSP can stay strict)."""

from __future__ import annotations

import collections
import dataclasses
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.exceptions import HTTPException
from werkzeug.test import TestResponse

from opcert.access import EXEMPT_ENDPOINTS, Role
from opcert.demo import DEMO_PASSWORD
from opcert.extensions import db
from opcert.security import CONTENT_SECURITY_POLICY
from tests.factories import PASSWORD, staff
from tests.fixtures.database import make_app
from tests.fixtures.site import ACCOUNTS, seed_site, totp_secret
from tests.fixtures.web import login

MAX_PER_ENDPOINT = 4  # e.g. pages of a list: a few of each are enough
# GET endpoints a crawl of the demo site cannot show with a 200, and why.
NOT_SHOWN = {
    "accounts.setup_totp": "only during a first login without an authenticator (checked on its own below)",
    "accounts.verify_totp": "only between the password and the code (checked on its own below)",
}


class InlineCode(HTMLParser):
    """Collects whatever a strict CSP would block: inline scripts and styles, handlers, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            if name == "style":
                self.problems.append(f"<{tag} style={value!r}>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}={value!r}>")
        if tag == "script" and not values.get("src"):
            self.problems.append("<script> without src")
        if tag == "style":
            self.problems.append("<style>")
        for name in ("href", "src"):
            if values.get(name):
                self.links.append(str(values[name]))


@dataclasses.dataclass
class Crawl:
    """What one role's crawl saw."""

    shown: set[str] = dataclasses.field(default_factory=set)  # endpoints answered with 200
    problems: list[str] = dataclasses.field(default_factory=list)
    pages: int = 0


def header_problems(url: str, response: TestResponse, *, static: bool) -> list[str]:
    """Missing or wrong security headers on one response."""
    headers = response.headers
    expected = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "strict-origin-when-cross-origin",
    }
    found = [f"{url}: {name} is {headers.get(name)!r}" for name, want in expected.items() if headers.get(name) != want]
    cached = "no-store" not in headers.get("Cache-Control", "")
    if cached and not static:
        found.append(f"{url}: Cache-Control is {headers.get('Cache-Control')!r}, not no-store")
    if not cached and static:
        found.append(f"{url}: a static file must stay cacheable")
    if "Strict-Transport-Security" in headers:
        found.append(f"{url}: HSTS outside production")
    return found


def endpoint_of(app: Flask, path: str, method: str = "GET") -> str | None:
    """The endpoint a path is routed to (None when none matches)."""
    try:
        endpoint, _ = app.url_map.bind("localhost").match(path, method=method)
    except HTTPException:
        return None
    return str(endpoint)


def start_urls(app: Flask, extra: tuple[str, ...]) -> list[str]:
    """Every GET route without arguments, and the seeded pages no link leads to."""
    plain = sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or set()) and not rule.arguments and rule.endpoint not in EXEMPT_ENDPOINTS
    )
    return ["/", *plain, *extra]


def crawl(app: Flask, client: FlaskClient, start: list[str]) -> Crawl:
    """Follow every same-site link from the start pages; check each response's headers and HTML."""
    seen: set[str] = set()
    per_endpoint: collections.Counter[str] = collections.Counter()
    queue = collections.deque(start)
    result = Crawl()
    while queue:
        url = urldefrag(queue.popleft())[0]
        parts = urlsplit(url)
        if url in seen or parts.scheme or parts.netloc or not url.startswith("/"):
            continue
        seen.add(url)
        endpoint = endpoint_of(app, parts.path)
        if endpoint is None or per_endpoint[endpoint] >= MAX_PER_ENDPOINT:
            continue
        per_endpoint[endpoint] += 1
        response = client.get(url)
        result.pages += 1
        static = endpoint in EXEMPT_ENDPOINTS
        result.problems.extend(header_problems(url, response, static=static))
        if response.status_code >= 500:
            result.problems.append(f"{url}: {response.status_code}")
        if response.status_code == 200:
            result.shown.add(endpoint)
        if response.mimetype == "text/html":
            parser = InlineCode()
            parser.feed(response.get_data(as_text=True))
            result.problems.extend(f"{url}: {problem}" for problem in parser.problems)
            queue.extend(parser.links)
        response.close()  # static files are streamed from an open file
    return result


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
    assert sorted(get_endpoints - shown - NOT_SHOWN.keys()) == [], "pages the crawl never showed"


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
