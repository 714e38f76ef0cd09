"""The signed-in home page: each role sees what it can do next, and no link leads to a refusal or nowhere."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from opcert.access import Role
from tests.fixtures.web import logged_in_client, text

HREF_RE = re.compile(r'href="(/[^"]*)"')
NAV_RE = re.compile(r"<nav.*?</nav>", re.S)


def links(page: str) -> set[str]:
    """Every link to a page of the platform (static files aside)."""
    return {href for href in HREF_RE.findall(page) if not href.startswith(("/static/", "/bootstrap/"))}


@pytest.mark.parametrize("role", list(Role))
def test_every_link_on_the_home_page_and_in_the_menu_opens_a_page(app, role) -> None:
    client = logged_in_client(app, role)
    page = text(client.get("/"))
    found = links(page)
    assert found, "the home page links nowhere"
    for href in sorted(found):
        response = client.get(href)
        assert response.status_code in (200, 302), f"{role.value}: {href} answers {response.status_code}"
        if response.status_code == 302:
            assert urlsplit(response.headers["Location"]).path != "/login", f"{role.value}: {href} logs out"


def test_examiner_is_offered_practical_scoring_and_no_empty_pages(app) -> None:
    client = logged_in_client(app, Role.EXAMINER)
    page = text(client.get("/"))
    assert "实操评分" in page
    assert "尚未上线" not in page  # practical scoring exists: no "not available yet" note
    menu = NAV_RE.search(page).group(0)
    assert 'href="/exams/practical/mine"' in menu
    assert "/notifications" not in menu  # no unread notice: the list would be empty
    assert "/centres" not in menu
    assert "/admin/" not in menu


def test_officer_sees_the_review_queue_with_its_counts(app) -> None:
    client = logged_in_client(app, Role.OFFICER)
    page = text(client.get("/"))
    assert "发证审核" in page
    assert "待受理0件" in page
    main = page[page.index("<main") :]
    assert links(main) == {"/certificates/review", "/certificates/statistics"}
    assert 'href="/certificates/review"' in NAV_RE.search(page).group(0)
    assert client.get("/certificates/review").status_code == 200


def test_administrator_gets_shortcuts_and_a_grouped_menu(app) -> None:
    client = logged_in_client(app, Role.ADMIN)
    page = text(client.get("/"))
    main = page[page.index("<main") :]
    for href in ("/admin/users", "/admin/organisations", "/admin/catalogue", "/admin/audit"):
        assert f'href="{href}"' in main
    menu = NAV_RE.search(page).group(0)
    dropdown = menu[menu.index("管理</button>") :]
    for href in ("/admin/users", "/admin/organisations", "/admin/catalogue", "/admin/audit", "/admin/bank/"):
        assert f'href="{href}"' in dropdown
    assert 'href="/centres"' in dropdown


def test_trainee_menu_offers_bookings_and_notifications(app) -> None:
    page = text(logged_in_client(app, Role.TRAINEE).get("/"))
    menu = NAV_RE.search(page).group(0)
    for href in ("/exams/sessions", "/bookings", "/account/photo", "/notifications"):
        assert f'href="{href}"' in menu
