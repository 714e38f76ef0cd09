"""Service guides (办事指南): one public guide per matter, edited by administrators, every version kept.

A save writes a new version (its date and editor); nothing is overwritten, so the public page can show when the
guide last changed and what it said before.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from opcert.accounts.models import User
from opcert.audit.services import record_event
from opcert.certificates.authority_models import Guide, GuideVersion, Matter
from opcert.db import flush_unique, utcnow
from opcert.errors import DomainError, NotFoundError
from opcert.extensions import db

DEMO_FILE = Path(__file__).parent / "data" / "guides.toml"
# The sections of a guide, in the order the public page shows them.
SECTIONS = {
    "conditions": _l("申请条件"),
    "materials": _l("申请材料"),
    "time_limit": _l("办理时限"),
    "fees": _l("收费标准"),
    "delivery": _l("办理结果送达"),
    "faq": _l("常见问题解答"),
}


class GuideError(DomainError):
    """A guide that cannot be saved as asked."""


@dataclasses.dataclass(frozen=True)
class GuideText:
    """Every section of a guide, as typed."""

    conditions: str = ""
    materials: str = ""
    time_limit: str = ""
    fees: str = ""
    delivery: str = ""
    faq: str = ""


def parse_matter(value: str) -> Matter:
    """The matter named in an address (NotFoundError for an unknown one)."""
    try:
        return Matter(value)
    except ValueError:
        raise NotFoundError(_("没有这个办理事项。")) from None


def guide_for(matter: Matter) -> Guide | None:
    """The matter's guide, if one was ever written."""
    return db.session.execute(sa.select(Guide).where(Guide.matter == matter)).scalar()


def current_version(matter: Matter) -> GuideVersion | None:
    """The version in force (the latest)."""
    guide = guide_for(matter)
    return guide.versions[0] if guide is not None and guide.versions else None


def version_of(matter: Matter, number: int) -> GuideVersion:
    """One version of the matter's guide (NotFoundError when there is none)."""
    guide = guide_for(matter)
    found = next((v for v in guide.versions if v.number == number), None) if guide else None
    if found is None:
        raise NotFoundError(_("找不到该版本的办事指南。"))
    return found


def text_of(version: GuideVersion | None) -> GuideText:
    """A version's sections (empty ones for none)."""
    if version is None:
        return GuideText()
    return GuideText(**{name: getattr(version, name) for name in SECTIONS})


def faq_pairs(text: str) -> list[tuple[str, str]]:
    """Questions and answers from 问：… / 答：… lines (an answer may run over several lines)."""
    pairs: list[tuple[str, str]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith(("问：", "问:")):
            pairs.append((line[2:].strip(), ""))
        elif line.startswith(("答：", "答:")) and pairs:
            pairs[-1] = (pairs[-1][0], (pairs[-1][1] + "\n" + line[2:].strip()).strip())
        elif line and pairs:
            pairs[-1] = (pairs[-1][0], (pairs[-1][1] + "\n" + line).strip())
    return pairs


def save_guide(*, matter: Matter, text: GuideText, note: str, editor: User | None) -> GuideVersion:
    """Save the guide as a new version (audited); every section but the FAQ is required, an unchanged text refused."""
    cleaned = GuideText(**{name: getattr(text, name).strip() for name in SECTIONS})
    problems = {
        name: _("请填写“%(section)s”。", section=label)
        for name, label in SECTIONS.items()
        if name != "faq" and not getattr(cleaned, name)
    }
    if cleaned.faq and not faq_pairs(cleaned.faq):
        problems["faq"] = _("常见问题请按“问：……”“答：……”逐行填写。")
    if problems:
        raise GuideError(" ".join(problems.values()), problems)
    guide = guide_for(matter)
    if guide is None:
        guide = Guide(matter=matter, current_number=0)
        db.session.add(guide)
        db.session.flush()
    elif guide.versions and text_of(guide.versions[0]) == cleaned:
        raise GuideError(_("内容没有变化，无需保存新版本。"))
    guide.current_number += 1
    version = GuideVersion(
        guide_id=guide.id,
        number=guide.current_number,
        change_note=note.strip()[:200],
        edited_by=editor.id if editor else None,
        edited_at=utcnow(),
        **dataclasses.asdict(cleaned),
    )
    db.session.add(version)
    flush_unique(_("他人刚刚保存了该指南，请刷新后再修改。"), error=GuideError)
    db.session.expire(guide, ["versions"])
    record_event(
        "certificate.guide_saved",
        object_type="service_guide",
        object_id=matter.value,
        details={"version": str(version.number)},
        actor_id=editor.id if editor else None,
    )
    return version


def seed_guides(path: Path = DEMO_FILE) -> int:
    """Write the demo guides for matters that have none yet; how many were written."""
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    written = 0
    for matter in Matter:
        entry = data.get(matter.value)
        if entry is None or current_version(matter) is not None:
            continue
        save_guide(matter=matter, text=GuideText(**entry), note=_("首次发布"), editor=None)
        written += 1
    return written
