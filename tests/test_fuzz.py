"""A bounded fuzz test: every route, as every role, with junk in paths, query strings, forms and files; no 5xx.

The figure the lead reports (routes x roles x inputs actually sent) is printed at the end (`pytest -s`) and kept as
the `fuzz_requests` property of the test (`--junitxml`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import random
import re
from collections import Counter
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from werkzeug.datastructures import MultiDict
from werkzeug.routing import Rule

from exams.bank import services as bank_services
from exams.papers import services as paper_services
from exams.sessions import bookings as session_services
from opcert.access import Role, declared_access, is_allowed
from opcert.accounts.models import User, UserSession
from opcert.catalogue.models import Category
from opcert.extensions import db
from tests.exams.bank.bank_data import AUTHORITY, catalogue_item, fill_bank
from tests.exams.sessions import sessions_data
from tests.factories import PASSWORD, staff
from tests.fixtures.database import make_app
from tests.fixtures.web import csrf_token, login

SEED = 20261127
ARGUMENT_RE = re.compile(r"<(?:(?P<converter>[a-zA-Z_]\w*)(?:\([^>]*\))?:)?(?P<name>\w+)>")
FIELD_NAME_RE = re.compile(r'name="([^"]+)"')
# Requests that end the session go last, so each client stays logged in for the rest of its routes.
LAST_ENDPOINTS = frozenset({"accounts.logout"})
JUNK_IDS = ("0", "2147483647", "2147483648", "99999999999999999999")
JUNK_WORDS = ("x" * 300, "%00", "..%2F..%2Fetc%2Fpasswd", "%E5%92%8C%C0%AF")
EDGE_VALUES = (
    "99999999999999999999",
    "-1",
    "1e309",
    "NaN",
    "0x10",
    "0001-01-01T00:00",
    "9999-12-31T23:59",
    "２０２６",
    "'; DROP TABLE users; --",
    "=1+1",
    "-2+3+cmd|' /C calc'!A0",
)
QUERY_NAMES = ("q", "page", "action", "kind", "status", "point", "role", "next")
POST_ONLY_NAMES = ("status", "item_id", "agree", "password", "next", "submit")
DATE_LIKE = re.compile(r"\d{4}-\d\d-\d\d")
NO_CSRF_INPUTS = frozenset({"random", "edge values", "control characters", "junk file"})
# Form actions the mutation phase leaves alone: logging out and revoking would end the client's own session, and
# the language switch (on every page) has had its junk in the first phase.
SKIPPED_ACTIONS = ("/logout", "/revoke", "/language/")
MUTATIONS = (
    *EDGE_VALUES,
    "",
    " ",
    "a\x00b",
    "长" * 3_000,
    "x" * 100_000,
    "<script>alert(1)</script>",
    "1" * 30,
    "2147483648",
    "-2147483649",
    "0",
)


@dataclasses.dataclass
class Tally:
    """What was sent, and what answered 5xx (or raised)."""

    requests: int = 0
    kinds: Counter[str] = dataclasses.field(default_factory=Counter)
    pairs: set[tuple[str, str]] = dataclasses.field(default_factory=set)
    failures: list[str] = dataclasses.field(default_factory=list)


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(out, format="JPEG")
    return out.getvalue()


def build_dataset() -> tuple[dict[Role, int], dict[str, list[str]]]:
    """One user id per role (a trainee with a booking, staff of the dataset's centre), and real ids per path name."""
    now = dt.datetime.now(dt.UTC)
    item = catalogue_item()
    fill_bank(item, true_false=80, single=40, multiple=5)
    question = bank_services.list_questions(item_id=item.id)[0]
    bank_services.set_question_image(question=question, data=_jpeg(), **AUTHORITY)
    paper = paper_services.generate_paper(item_id=item.id)
    centre = sessions_data.centre()
    exam_item = sessions_data.item()
    exam = sessions_data.session(centre, [exam_item], now=now)
    users = {role: staff(role) for role in Role if role not in {Role.TRAINEE, Role.CENTRE_STAFF}}
    users[Role.CENTRE_STAFF] = staff(Role.CENTRE_STAFF, org=centre)
    users[Role.TRAINEE] = sessions_data.eligible(name="赵六")
    booking = session_services.book_seat(trainee=users[Role.TRAINEE], session_id=exam.id, item_id=exam_item.id)
    other = sessions_data.eligible(name="孙七")
    db.session.commit()
    category = db.session.execute(sa.select(Category.id).limit(1)).scalar_one()
    ids = {
        "item_id": [str(item.id)],
        "question_id": [str(question.id)],
        "paper_id": [str(paper.id)],
        "user_id": [str(other.id)],
        "org_id": [str(centre.id)],
        "centre_id": [str(centre.id)],
        "room_id": [str(exam.room_id)],
        "session_id": [str(exam.id)],
        "booking_id": [str(booking.id)],
        "category_id": [str(category)],
        "photo_id": ["1"],
        "file_format": ["csv", "xlsx"],
        "lang": ["en"],
        "filename": ["opcert.css", "css/bootstrap.min.css"],
    }
    return {role: user.id for role, user in users.items()}, ids


def log_in(app: Flask, user: User | None, *, csrf: bool) -> FlaskClient:
    """A client logged in through the real pages as `user` (None: anonymous); without CSRF, no token is read."""
    client = app.test_client()
    if user is None:
        return client
    if csrf:
        response = login(client, user.login_name, PASSWORD, totp_secret=user.totp_secret)
    else:
        response = client.post("/login", data={"account": user.login_name, "password": PASSWORD})
        if user.totp_secret:
            response = client.post("/login/verify", data={"code": pyotp.TOTP(user.totp_secret).now()})
    assert response.status_code == 302, f"{user.role} could not log in"
    assert client.get("/account").status_code == 200
    return client


def urls(rule: Rule, ids: dict[str, list[str]], rng: random.Random) -> Iterator[tuple[str, bool]]:
    """(url, real): the rule with real ids, then with junk in every argument."""

    def fill(junk: bool) -> str:
        def one(match: re.Match[str]) -> str:
            if junk:
                return rng.choice(JUNK_IDS if match.group("converter") == "int" else JUNK_WORDS)
            return rng.choice(ids.get(match.group("name"), ["1"]))

        return ARGUMENT_RE.sub(one, rule.rule)

    yield fill(junk=False), True
    if rule.arguments:
        yield fill(junk=True), False


def random_text(rng: random.Random) -> str:
    """Printable junk with CJK, symbols and controls (no NUL: that has its own input)."""
    alphabet = "abcXYZ019 -_'\"<>&;%+=@\t\r\n中文题库考试测试🙂\u202e\u00a0\\/"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))


def random_bytes_text(rng: random.Random) -> str:
    """Random bytes as a form posts them (any byte but NUL, read back as Latin-1 characters)."""
    return bytes(rng.randint(1, 255) for _ in range(rng.randint(1, 64))).decode("latin-1")


def form_inputs(names: list[str], rng: random.Random) -> Iterator[tuple[str, dict[str, Any]]]:
    """(label, form fields) for a POST: empty, random text or bytes, long, NUL, edge numbers/dates, a junk file."""
    yield "empty", {}
    yield "random", {n: rng.choice((random_text, random_bytes_text))(rng) for n in names}
    yield "long strings", {n: "长" * 3_000 for n in names}
    yield "oversized field", {(names or ["x"])[0]: "x" * 600_000}
    yield "NUL", {n: f"a\x00{random_text(rng)}" for n in names}
    yield "control characters", {n: f"/{random_text(rng)}\r\nX-Injected: 1\x01\x7f" for n in names}
    yield "edge values", {n: rng.choice(EDGE_VALUES) for n in names}
    junk = bytes(rng.randint(0, 255) for _ in range(2048))
    yield (
        "junk file",
        {n: (io.BytesIO(junk), rng.choice(["junk.csv", "junk.xlsx", "junk.jpg", "a\x00.png"])) for n in names},
    )


def query_inputs(rng: random.Random) -> Iterator[tuple[str, str]]:
    """(label, query string) for a GET."""
    yield "query junk", "&".join(f"{n}={rng.choice((random_text(rng), *EDGE_VALUES))}" for n in QUERY_NAMES)
    yield "query control characters", "&".join(f"{n}=/a%0d%0aX-Injected:%201%01" for n in QUERY_NAMES)


def field_names(html: str) -> list[str]:
    """The names of the form fields on a page (the CSRF token excluded: it is sent valid on purpose)."""
    return sorted({n for n in FIELD_NAME_RE.findall(html) if n != "csrf_token"})


def send(client: FlaskClient, tally: Tally, label: str, method: str, url: str, **kwargs: Any) -> str:
    """One request; a 5xx or an exception is a failure. Returns the body."""
    tally.requests += 1
    tally.kinds[label.split("] ")[-1] if "] " in label else ("form" if " form " in label else method)] += 1
    try:
        response = client.open(url, method=method, **kwargs)
    except Exception as exc:  # the test client re-raises what no error page caught: that is a failure too
        tally.failures.append(f"{label} {method} {url}: raised {exc!r}")
        return ""
    if response.status_code >= 500:
        tally.failures.append(f"{label} {method} {url}: {response.status_code}")
    body = response.get_data().decode("utf-8", "replace") if response.mimetype == "text/html" else ""
    response.close()
    return body


class PageForms(HTMLParser):
    """The POST forms of a page, each with the values a browser would send as the page stands."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, bool, list[tuple[str, str]]]] = []
        self._select: tuple[str, list[tuple[str, bool]]] | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open a form, or add one of its fields."""
        a = {k: v or "" for k, v in attrs}
        if tag == "option" and self._select is not None:
            self._select[1].append((a.get("value", ""), "selected" in a))
        elif tag == "form" and a.get("method", "").lower() == "post":
            self.forms.append((a.get("action", ""), a.get("enctype") == "multipart/form-data", []))
        elif not self.forms or not a.get("name"):
            return
        elif tag == "input" and a.get("type") not in {"submit", "file", "checkbox", "radio"}:
            self.forms[-1][2].append((a["name"], a.get("value", "")))
        elif tag == "input" and a.get("type") in {"checkbox", "radio"} and "checked" in a:
            self.forms[-1][2].append((a["name"], a.get("value") or "y"))
        elif tag == "textarea":
            self._textarea = a["name"]
        elif tag == "select":
            self._select = (a["name"], [])

    def handle_data(self, data: str) -> None:
        """A textarea's text."""
        if self._textarea is not None and self.forms:
            self.forms[-1][2].append((self._textarea, data))
            self._textarea = None

    def handle_endtag(self, tag: str) -> None:
        """Close a textarea or a select (the selected option, else the first)."""
        if tag == "textarea" and self._textarea is not None and self.forms:
            self.forms[-1][2].append((self._textarea, ""))
        if tag == "textarea":
            self._textarea = None
        if tag == "select" and self._select is not None and self.forms:
            name, options = self._select
            chosen = [v for v, selected in options if selected] or [v for v, _s in options[:1]]
            self.forms[-1][2].extend((name, v) for v in chosen)
            self._select = None


def fuzz_page_forms(
    client: FlaskClient, pages: list[tuple[str, str]], tally: Tally, who: str, rng: random.Random
) -> None:
    """Each form found on the pages, posted as it stands and then with one field at a time replaced by junk.

    A form filled as the page shows it passes validation, so the junk in the one field reaches the service.
    """
    done: set[str] = set()
    for url, html in pages:
        parser = PageForms()
        parser.feed(html)
        for target, multipart, fields in parser.forms:
            action = target or url  # a form without an action posts back to its page
            if not action.startswith("/") or action in done or any(word in action for word in SKIPPED_ACTIONS):
                continue
            done.add(action)
            kind = "multipart/form-data" if multipart else "application/x-www-form-urlencoded"
            label = f"{who} form {action}"
            send(client, tally, f"{label} as shown", "POST", action, data=MultiDict(fields), content_type=kind)
            for index, (name, value) in enumerate(fields):
                if name == "csrf_token":
                    continue
                for junk in mutations_for(value, rng):
                    changed = MultiDict([*fields[:index], (name, junk), *fields[index + 1 :]])
                    what = f"{label} {name}={junk[:20]!r}"
                    send(client, tally, what, "POST", action, data=changed, content_type=kind)


def mutations_for(value: str, rng: random.Random) -> list[str]:
    """Junk for one field: the edges of what it holds (dates, numbers), else one pick from the pool."""
    if DATE_LIKE.match(value):
        return ["0001-01-01T00:00", "9999-12-31T23:59"]
    if value.isdigit():
        return ["2147483648", "99999999999999999999"]
    return [rng.choice(MUTATIONS)]


def fuzz_role(
    app: Flask, role: Role | None, client: FlaskClient, ids: dict[str, list[str]], tally: Tally, *, csrf: bool
) -> None:
    """Every route as one role: GETs with junk query strings, POSTs with every kind of junk form, then the forms
    of the pages seen, each field in turn mutated.

    With CSRF checks on (a valid token sent): junk ids in paths, the routes the role may not call (once each) and
    the form mutations too. Without them (the second app): the junk forms, without a token, on each admitted
    route's real URL.
    """
    rng = random.Random(f"{SEED}-{role}-{csrf}")
    token = csrf_token(client, "/") if csrf else ""
    who = role.value if role else "anonymous"
    rules = sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
    seen_names: set[str] = set()
    pages: list[tuple[str, str]] = []
    for rule in [r for r in rules if r.endpoint not in LAST_ENDPOINTS]:
        pages.extend(fuzz_rule(app, rule, role, client, ids, tally, rng, token, seen_names, csrf=csrf))
    if csrf:
        fuzz_page_forms(client, pages, tally, who, rng)
    for rule in [r for r in rules if r.endpoint in LAST_ENDPOINTS]:
        fuzz_rule(app, rule, role, client, ids, tally, rng, token, seen_names, csrf=csrf)


def fuzz_rule(
    app: Flask,
    rule: Rule,
    role: Role | None,
    client: FlaskClient,
    ids: dict[str, list[str]],
    tally: Tally,
    rng: random.Random,
    token: str,
    seen_names: set[str],
    *,
    csrf: bool,
) -> list[tuple[str, str]]:
    """One route as one role; returns the pages (url, html) its real URL showed."""
    who = role.value if role else "anonymous"
    declared = declared_access(app, rule.endpoint)
    admitted = declared is None or is_allowed(declared, role)
    if not (admitted or csrf):
        return []
    methods = rule.methods or set()
    tally.pairs.add((rule.rule, who))
    pages: list[tuple[str, str]] = []
    for url, real in urls(rule, ids, rng):
        if not real and not (admitted and csrf):
            continue
        label = f"{who} [{rule.endpoint}]"
        names: list[str] = []
        if "GET" in methods:
            html = send(client, tally, label, "GET", url)
            names = field_names(html)
            seen_names.update(names)
            if real and admitted:
                pages.append((url, html))
            if real and admitted and csrf:
                for what, query in query_inputs(rng):
                    send(client, tally, f"{label} {what}", "GET", f"{url}?{query}")
        if "POST" not in methods:
            continue
        # A POST-only route has no page of its own: guess with names seen on the other pages.
        fields = names or sorted({*POST_ONLY_NAMES, *rng.sample(sorted(seen_names), min(8, len(seen_names)))})
        inputs = list(form_inputs(fields, rng)) if real and admitted else [("NUL", {"x": "a\x00b"})]
        if not csrf:
            # What the checks before the view refuse anyway (NUL, size) was sent to the first app.
            inputs = [(what, data) for what, data in inputs if what in NO_CSRF_INPUTS]
        for what, data in inputs:
            body = {**data, "csrf_token": token} if csrf else data
            # Uploads go multipart, the rest the way a plain form posts (multipart bodies over 500 KB would be
            # spooled by the test client to temporary files it never closes).
            kind = "multipart/form-data" if what == "junk file" else "application/x-www-form-urlencoded"
            send(client, tally, f"{label} {what}", "POST", url, data=body, content_type=kind)
        if real and admitted and csrf:
            # No page posts JSON, but a client can: the body must not become form data of any shape.
            headers = {"X-CSRFToken": token}
            for what, document in (("JSON list", [1, [2], None]), ("JSON object", {n: {"x": [1]} for n in fields})):
                send(client, tally, f"{label} {what}", "POST", url, json=document, headers=headers)
    return pages


def run_fuzz(app: Flask, *, csrf: bool) -> Tally:
    """Build the dataset in `app`'s database, log in as each role and fuzz every route."""
    tally = Tally()
    with app.app_context():
        users, ids = build_dataset()
    roles: list[Role | None] = [None, *Role]
    for role in roles:
        with app.app_context():
            user = db.session.get(User, users[role]) if role is not None else None
            client = log_in(app, user, csrf=csrf)
        fuzz_role(app, role, client, ids, tally, csrf=csrf)
    return tally


def report(tally: Tally, record_property: Any, name: str) -> str:
    """The figure to report: requests sent over how many route x role pairs."""
    routes = len({route for route, _who in tally.pairs})
    roles = len({who for _route, who in tally.pairs})
    line = f"{name}: {tally.requests} requests over {routes} routes x {roles} roles, {len(tally.failures)} failed"
    print(line, dict(tally.kinds.most_common()))
    record_property(f"{name}_requests", tally.requests)
    return line


def test_no_route_answers_5xx_to_junk(app, record_property) -> None:
    tally = run_fuzz(app, csrf=True)
    line = report(tally, record_property, "fuzz")
    assert tally.requests > 2000, line
    assert not tally.failures, line + "\n" + "\n".join(tally.failures[:50])


@pytest.fixture
def app_without_csrf(database_url) -> Iterator[Flask]:
    """A second app on the same database with CSRF checks off, so that every junk form reaches its view."""
    other = make_app(database_url, WTF_CSRF_ENABLED=False)
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def test_no_route_answers_5xx_to_junk_without_csrf(app, app_without_csrf, record_property) -> None:
    tally = run_fuzz(app_without_csrf, csrf=False)
    line = report(tally, record_property, "fuzz_without_csrf")
    assert tally.requests > 500, line
    assert not tally.failures, line + "\n" + "\n".join(tally.failures[:50])
    with app_without_csrf.app_context():
        # The logins were real: each role's session row was written (the clients were not refused at the door).
        assert db.session.execute(sa.select(sa.func.count()).select_from(UserSession)).scalar_one() >= len(Role)
