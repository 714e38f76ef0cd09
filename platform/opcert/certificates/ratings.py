"""好差评: after each completed matter (an application approved or refused, a mailed card delivered) the person rates
the service once; a bad rating opens a follow-up that an officer of the authority closes, with a note of what was
done, within CERT_FOLLOWUP_WORKING_DAYS working days; a report by matter and month (also as CSV).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from opcert.access import Role
from opcert.accounts.models import User
from opcert.audit.services import record_event
from opcert.certificates.applications_models import MATTER_LABELS, ApplicationStatus, CertificateApplication
from opcert.certificates.service_models import (
    Mailing,
    MailingStatus,
    RatingFollowUp,
    RatingLevel,
    ServiceRating,
)
from opcert.certificates.sources import working_days_after
from opcert.db import utcnow
from opcert.errors import DomainError, NotFoundError
from opcert.extensions import db
from opcert.notifications.kinds import register_kinds
from opcert.notifications.services import notify
from opcert.timeutil import local

RATING_NOTICE = "certificate_rating"
register_kinds({RATING_NOTICE: _l("服务评价")})
MATTERS = {**{matter.value: label for matter, label in MATTER_LABELS.items()}, "mail": _l("证卡邮寄")}
COMMENT_MAX = 300  # the messages below say these numbers
NOTE_MAX = 2000


class RatingError(DomainError):
    """A rating or follow-up step that cannot be done as asked."""


@dataclasses.dataclass(frozen=True)
class Matter:
    """A completed matter the person may rate: its subject key ("application:12"), its kind and what it was."""

    subject: str
    matter: str
    title: str
    authority_id: int
    completed_at: dt.datetime

    @property
    def matter_label(self) -> str:
        """The kind of matter, for people."""
        return str(MATTERS[self.matter])


def _application_matter(application: CertificateApplication) -> Matter | None:
    if application.status not in (ApplicationStatus.APPROVED, ApplicationStatus.REFUSED):
        return None
    if application.decided_at is None:
        return None
    return Matter(
        subject=f"application:{application.id}",
        matter=application.matter.value,
        title=f"{application.item.code} {application.item.name}：{application.status.label}",
        authority_id=application.authority_id,
        completed_at=application.decided_at,
    )


def _mailing_matter(mailing: Mailing) -> Matter | None:
    if mailing.status is not MailingStatus.DELIVERED or mailing.closed_at is None:
        return None
    return Matter(
        subject=f"mailing:{mailing.id}",
        matter="mail",
        title=f"{mailing.item.code} {mailing.item.name}：{mailing.status.label}",
        authority_id=mailing.authority_id,
        completed_at=mailing.closed_at,
    )


def completed_matters(user_id: int) -> list[tuple[Matter, ServiceRating | None]]:
    """The person's completed matters, newest first, each with its rating if given."""
    applications = db.session.execute(
        sa.select(CertificateApplication).where(CertificateApplication.user_id == user_id)
    ).scalars()
    mailings = db.session.execute(sa.select(Mailing).where(Mailing.user_id == user_id)).scalars()
    found = [_application_matter(a) for a in applications] + [_mailing_matter(m) for m in mailings]
    matters = sorted((m for m in found if m is not None), key=lambda m: m.completed_at, reverse=True)
    rated = {
        r.subject: r
        for r in db.session.execute(sa.select(ServiceRating).where(ServiceRating.user_id == user_id)).scalars()
    }
    return [(m, rated.get(m.subject)) for m in matters]


def matter_to_rate(user: User, kind: str, subject_id: int) -> Matter:
    """One of the person's matters; NotFoundError for an unknown kind or anyone else's, RatingError if not done."""
    subject: CertificateApplication | Mailing | None = None
    if kind == "application":
        subject = db.session.get(CertificateApplication, subject_id)
    elif kind == "mailing":
        subject = db.session.get(Mailing, subject_id)
    if subject is None or subject.user_id != user.id:
        raise NotFoundError(_("找不到该办理事项。"))
    matter = _application_matter(subject) if isinstance(subject, CertificateApplication) else _mailing_matter(subject)
    if matter is None:
        raise RatingError(_("该事项尚未办结，办结后才能评价。"))
    return matter


def rating_of(subject: str) -> ServiceRating | None:
    """The rating given to the matter, if any."""
    return db.session.execute(sa.select(ServiceRating).where(ServiceRating.subject == subject)).scalar()


def rate(*, user: User, matter: Matter, level: str, comment: str, now: dt.datetime | None = None) -> ServiceRating:
    """Rate a completed matter once; a bad rating opens its follow-up with the working-day deadline."""
    now = now or utcnow()
    twice = _("您已评价过该事项，每项服务只能评价一次。")
    if rating_of(matter.subject) is not None:
        record_event("certificate.rating_refused", object_type="rating", object_id=matter.subject, actor_id=user.id)
        raise RatingError(twice)
    problems: dict[str, str] = {}
    if level not in set(RatingLevel):
        problems["level"] = _("请选择评价等级。")
    comment = comment.strip()
    if len(comment) > COMMENT_MAX:
        problems["comment"] = _("评价内容不能超过300字。")
    if problems:
        raise RatingError(" ".join(problems.values()), problems)
    today = local(now).date()
    rating = ServiceRating(
        subject=matter.subject,
        matter=matter.matter,
        user_id=user.id,
        authority_id=matter.authority_id,
        level=RatingLevel(level),
        comment=comment,
        rated_at=now,
        month=f"{today:%Y-%m}",
    )
    try:
        with db.session.begin_nested():
            db.session.add(rating)
            db.session.flush()
    except sa.exc.IntegrityError:  # a concurrent rating of the same matter won
        raise RatingError(twice) from None
    record_event(
        "certificate.rated",
        object_type="rating",
        object_id=rating.id,
        details={"matter": matter.matter, "level": rating.level.value},
        actor_id=user.id,
    )
    if rating.level.is_bad:
        _open_follow_up(rating, today)
    return rating


def _open_follow_up(rating: ServiceRating, today: dt.date) -> RatingFollowUp:
    days = int(current_app.config["CERT_FOLLOWUP_WORKING_DAYS"])
    follow_up = RatingFollowUp(
        rating=rating, authority_id=rating.authority_id, opened_on=today, due_on=working_days_after(today, days)
    )
    db.session.add(follow_up)
    db.session.flush()
    record_event(
        "certificate.rating_followup_opened",
        object_type="rating_followup",
        object_id=follow_up.id,
        details={"due": follow_up.due_on.isoformat()},
    )
    notify(
        user_id=rating.user_id,
        kind=RATING_NOTICE,
        subject=_("您的评价已转办"),
        body=_("感谢您的评价。发证机关将在%(day)s前核实处理并答复您。", day=follow_up.due_on.isoformat()),
    )
    return follow_up


def follow_up_state(follow_up: RatingFollowUp, today: dt.date) -> str:
    """ "overdue", "due_soon" (within CERT_DEADLINE_WARN_WORKING_DAYS), "" while open; "on_time" / "late" closed."""
    if follow_up.closed_on is not None:
        return "on_time" if follow_up.closed_on <= follow_up.due_on else "late"
    if today > follow_up.due_on:
        return "overdue"
    if working_days_after(today, int(current_app.config["CERT_DEADLINE_WARN_WORKING_DAYS"])) >= follow_up.due_on:
        return "due_soon"
    return ""


def follow_ups(officer: User, today: dt.date) -> list[tuple[RatingFollowUp, str]]:
    """The follow-ups of the officer's authority with their states: open ones first, by deadline."""
    if officer.organisation_id is None:
        return []
    rows = db.session.execute(
        sa.select(RatingFollowUp)
        .where(RatingFollowUp.authority_id == officer.organisation_id)
        .order_by(RatingFollowUp.closed_at.is_not(None), RatingFollowUp.due_on, RatingFollowUp.id)
    ).scalars()
    return [(f, follow_up_state(f, today)) for f in rows]


def managed_follow_up(officer: User, follow_up_id: int) -> RatingFollowUp:
    """A follow-up of the officer's authority; NotFoundError if unknown, another authority's refused (audited)."""
    follow_up = db.session.get(RatingFollowUp, follow_up_id, with_for_update=True, populate_existing=True)
    if follow_up is None:
        raise NotFoundError(_("找不到该差评整改事项。"))
    if follow_up.authority_id != officer.organisation_id:
        record_event(
            "certificate.rating_followup_foreign",
            object_type="rating_followup",
            object_id=follow_up.id,
            actor_id=officer.id,
        )
        raise RatingError(_("该差评整改事项不属于您所在发证机关，不能办理。"))
    return follow_up


def close_follow_up(
    *, officer: User, follow_up: RatingFollowUp, note: str, now: dt.datetime | None = None
) -> RatingFollowUp:
    """Close the follow-up with a note of what was done; the person is told."""
    if follow_up.closed_at is not None:
        raise RatingError(_("该差评整改事项已办结。"))
    note = note.strip()
    if not note:
        raise RatingError.on_field(_("请写明核实和整改的情况。"), "note")
    if len(note) > NOTE_MAX:
        raise RatingError.on_field(_("整改情况不能超过2000字。"), "note")
    now = now or utcnow()
    follow_up.closed_at, follow_up.closed_on = now, local(now).date()
    follow_up.closed_by, follow_up.note = officer.id, note
    on_time = follow_up.closed_on <= follow_up.due_on
    record_event(
        "certificate.rating_followup_closed",
        object_type="rating_followup",
        object_id=follow_up.id,
        details={"closed": "on_time" if on_time else "late"},
        actor_id=officer.id,
    )
    notify(
        user_id=follow_up.rating.user_id,
        kind=RATING_NOTICE,
        subject=_("您的评价已处理"),
        body=_("发证机关对您的评价作出答复：%(note)s", note=note),
    )
    return follow_up


# The report by matter and month.


@dataclasses.dataclass
class ReportRow:
    """One matter in one month: ratings per level, the bad-rating share, follow-ups and how many closed on time."""

    matter: str
    month: str
    counts: dict[RatingLevel, int]
    follow_ups: int = 0
    on_time: int = 0
    late: int = 0
    overdue: int = 0

    @property
    def matter_label(self) -> str:
        """The kind of matter, for people."""
        return str(MATTERS.get(self.matter, self.matter))

    @property
    def total(self) -> int:
        """Ratings given."""
        return sum(self.counts.values())

    @property
    def bad(self) -> int:
        """Bad ratings (不满意, 非常不满意)."""
        return sum(n for level, n in self.counts.items() if level.is_bad)

    @property
    def bad_share(self) -> float:
        """Bad ratings as a share of all ratings (0 to 1)."""
        return self.bad / self.total if self.total else 0.0

    @property
    def on_time_share(self) -> float | None:
        """Follow-ups closed on time as a share of those closed or overdue (None when none is due yet)."""
        decided = self.on_time + self.late + self.overdue
        return self.on_time / decided if decided else None


def report(viewer: User, today: dt.date) -> list[ReportRow]:
    """The ratings report: the officer's authority's, or every authority's for an administrator; newest month first."""
    query = sa.select(ServiceRating)
    if viewer.role is not Role.ADMIN:
        query = query.where(ServiceRating.authority_id == (viewer.organisation_id or 0))
    rows: dict[tuple[str, str], ReportRow] = {}
    for rating in db.session.execute(query).scalars():
        key = (rating.month, rating.matter)
        row = rows.setdefault(key, ReportRow(rating.matter, rating.month, dict.fromkeys(RatingLevel, 0)))
        row.counts[rating.level] += 1
        if rating.follow_up is not None:
            row.follow_ups += 1
            state = follow_up_state(rating.follow_up, today)
            row.on_time += state == "on_time"
            row.late += state == "late"
            row.overdue += state == "overdue"
    return [rows[key] for key in sorted(rows, key=lambda k: (k[0], k[1]), reverse=True)]


def _percent(share: float | None) -> str:
    return "" if share is None else f"{share * 100:.1f}%"


def report_csv(rows: list[ReportRow]) -> str:
    """The report as CSV (UTF-8 with BOM for spreadsheet programs), headers in the viewer's language."""
    out = io.StringIO()
    writer = csv.writer(out)
    levels = [str(level.label) for level in RatingLevel]
    follow_ups = [_("差评整改数"), _("按期办结"), _("逾期办结"), _("超期未办结"), _("按期办结率")]
    writer.writerow([_("月份"), _("事项"), *levels, _("评价数"), _("差评数"), _("差评率"), *follow_ups])
    for row in rows:
        counts = [row.counts[level] for level in RatingLevel]
        shares = [_percent(row.bad_share), row.follow_ups, row.on_time, row.late, row.overdue]
        writer.writerow(
            [row.month, row.matter_label, *counts, row.total, row.bad, *shares, _percent(row.on_time_share)]
        )
    return "\ufeff" + out.getvalue()
