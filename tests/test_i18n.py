"""Translations: every message in the source has an English translation, and the language switch works.

The interface is written in Chinese (the msgids); English comes from
platform/opcert/translations/en/LC_MESSAGES/messages.po. After adding or changing a string:

    .venv/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o /tmp/messages.pot .
    .venv/bin/pybabel update -i /tmp/messages.pot -d platform/opcert/translations -l en --no-fuzzy-matching

then translate the new entries in messages.po.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask_babel import force_locale, format_date, get_domain

from tests.fixtures.web import submit, text

ROOT = Path(__file__).resolve().parents[1]
MAPPING_FILE = ROOT / "babel.cfg"
MESSAGES_DIR = ROOT / "platform" / "opcert" / "translations" / "en" / "LC_MESSAGES"
PO_FILE = MESSAGES_DIR / "messages.po"
MO_FILE = MESSAGES_DIR / "messages.mo"

# The keywords of the documented extraction command: babel's defaults (`_`, `gettext`, ...) plus the lazy ones.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}

TITLE_ZH = "特种作业人员考核发证平台"
TITLE_EN = "Special Operations Personnel Certification Platform"

# A printf-style conversion: %(name)s, %d, %5.2f ...; "%%" is a literal percent sign, not a placeholder.
PLACEHOLDER_RE = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[diouxXeEfFgGcrsa%]")
HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")


class _AnyValue(dict[str, int]):
    """A mapping that answers 1 for every key, to try `message % variables` without knowing the names."""

    def __missing__(self, key: str) -> int:
        return 1


def extract_messages() -> dict[str, list[str]]:
    """Every msgid in the source, as `pybabel extract -F babel.cfg` finds it, with its locations."""
    with MAPPING_FILE.open(encoding="utf-8") as fileobj:
        method_map, options_map = parse_mapping_cfg(fileobj, str(MAPPING_FILE))
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS
    ):
        for msgid in message if isinstance(message, tuple) else (message,):
            if msgid:
                found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


def read_catalogue() -> Catalog:
    with PO_FILE.open("rb") as fileobj:
        return read_po(fileobj, locale="en")


def translations(message: Message) -> list[str]:
    """The msgstr (or every plural form of it) of a catalogue entry."""
    if isinstance(message.string, tuple | list):
        return [str(form or "") for form in message.string]
    return [message.string or ""]


def placeholders(message: str) -> list[str]:
    return sorted(match for match in PLACEHOLDER_RE.findall(message) if match != "%%")


def is_formattable(message: str) -> bool:
    """Whether `message % variables` works (Jinja's newstyle gettext always applies it in templates)."""
    try:
        message % _AnyValue()
    except (ValueError, TypeError):
        return False
    return True


def english(msgid: str) -> str:
    message = read_catalogue().get(msgid)
    assert message is not None, f"{msgid!r} is not in messages.po"
    assert message.string, f"no English for {msgid!r}"
    return str(message.string)


def ensure_compiled() -> None:
    """Compile messages.po into messages.mo (git-ignored) when the .mo is missing or older than the .po."""
    if MO_FILE.exists() and MO_FILE.stat().st_mtime >= PO_FILE.stat().st_mtime:
        return
    catalogue = read_catalogue()
    descriptor, temporary = tempfile.mkstemp(dir=MESSAGES_DIR, suffix=".mo.tmp")
    try:
        with os.fdopen(descriptor, "wb") as fileobj:
            write_mo(fileobj, catalogue, use_fuzzy=False)
        Path(temporary).replace(MO_FILE)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@pytest.fixture(scope="module")
def source_messages() -> dict[str, list[str]]:
    return extract_messages()


@pytest.fixture
def translated_app(app: Flask) -> Flask:
    """The app with the English catalogue compiled and Flask-Babel's translation cache emptied."""
    ensure_compiled()
    with app.app_context():
        get_domain().cache.clear()
    return app


def home(client: Any) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return text(response)


# --- the catalogue -------------------------------------------------------------------------------


def test_extraction_finds_the_application_messages_only(source_messages: dict[str, list[str]]) -> None:
    assert TITLE_ZH in source_messages
    assert "学员" in source_messages  # lazy_gettext via _l
    files = {location.rsplit(":", 1)[0] for locations in source_messages.values() for location in locations}
    assert files, "nothing extracted"
    assert all(name.startswith(("platform/", "exams/", "photos/")) for name in files), sorted(files)
    hidden = sorted(name for name in files if any(p.startswith(".") or p == "site-packages" for p in name.split("/")))
    assert not hidden, f"extraction scanned a virtualenv or hidden folder: {hidden[:5]}"


def test_every_source_message_has_an_english_translation(source_messages: dict[str, list[str]]) -> None:
    catalogue = read_catalogue()
    missing = []
    for msgid, locations in sorted(source_messages.items(), key=lambda item: item[1][0]):
        message = catalogue.get(msgid)
        if message is None or message.fuzzy or not all(s.strip() for s in translations(message)):
            missing.append(f"  {msgid!r}  ({', '.join(locations)})")
    assert not missing, (
        f"{len(missing)} message(s) without a (non-fuzzy) English translation in "
        f"{PO_FILE.relative_to(ROOT)}:\n" + "\n".join(missing) + "\n(see this module's docstring for the commands)"
    )


def test_catalogue_has_no_fuzzy_or_empty_entries() -> None:
    catalogue = read_catalogue()
    bad = [
        repr(message.id)
        for message in catalogue
        if message.id and (message.fuzzy or not all(s.strip() for s in translations(message)))
    ]
    assert not bad, "fuzzy or empty entries in messages.po:\n  " + "\n  ".join(bad)
    assert not catalogue.fuzzy, "the catalogue header is marked fuzzy"


def test_placeholders_match_between_chinese_and_english(source_messages: dict[str, list[str]]) -> None:
    catalogue = read_catalogue()
    problems = []
    for msgid in sorted(source_messages):
        message = catalogue.get(msgid)
        if message is None:
            continue  # reported by the test above
        for msgstr in translations(message):
            if placeholders(msgid) != placeholders(msgstr):
                problems.append(f"  {msgid!r}: {placeholders(msgid)} != {msgstr!r}: {placeholders(msgstr)}")
            elif is_formattable(msgid) and not is_formattable(msgstr):
                problems.append(f"  {msgstr!r} cannot be %-formatted (a lone '%' must be written '%%')")
    assert not problems, "placeholders differ:\n" + "\n".join(problems)


def test_compiled_catalogue_is_up_to_date() -> None:
    ensure_compiled()
    assert MO_FILE.exists()
    assert MO_FILE.stat().st_mtime >= PO_FILE.stat().st_mtime


# --- the language switch ---------------------------------------------------------------------------


def test_home_page_is_chinese_by_default(translated_app: Flask, client: Any) -> None:
    body = home(client)
    assert '<html lang="zh-CN">' in body
    assert TITLE_ZH in body
    assert TITLE_EN not in body


def test_switch_to_english_and_back(translated_app: Flask, client: Any) -> None:
    response = submit(client, "/language/en", {"next": "/"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/")
    body = home(client)
    assert '<html lang="en">' in body
    assert TITLE_EN in body
    assert TITLE_ZH not in body
    # Nothing Chinese is left on the page except the button that switches back to Chinese.
    assert HAN_RE.findall(body) == ["中文"]

    # Lazily translated form labels follow the language of the request too.
    login_page = text(client.get("/login"))
    assert english("账号（身份证号码或用户名）") in login_page
    assert "账号（身份证号码或用户名）" not in login_page

    response = submit(client, "/language/zh_CN", {"next": "/"})
    assert response.status_code == 302
    body = home(client)
    assert '<html lang="zh-CN">' in body
    assert TITLE_ZH in body
    assert TITLE_EN not in body


def test_unknown_language_is_ignored(translated_app: Flask, client: Any) -> None:
    response = submit(client, "/language/fr", {"next": "/"})
    assert response.status_code == 302
    body = home(client)
    assert '<html lang="zh-CN">' in body
    assert TITLE_ZH in body


def test_dates_follow_the_language(translated_app: Flask) -> None:
    day = dt.date(2026, 11, 27)
    with translated_app.test_request_context():
        assert format_date(day, "long") == "2026年11月27日"
        with force_locale("en"):
            assert format_date(day, "long") == "November 27, 2026"
