"""Statistics for the authority over a chosen period: applications, certificates, the 双减半 measure, pass rates.

- applications received: submitted (or resubmitted after a return) on a day of the period;
- certificates issued: issued on a day of the period;
- median working days from application to issue (双减半): over the applications approved in the period, from the
  (last) submission to the approval that issued the certificate, counted on the working-day calendar of
  `sources.working_days_between` (a return for correction restarts the statutory clock, so the last submission
  counts);
- pass rates by item and by exam centre: decided exam results (theory and practical) with an exam date in the
  period, through the one adapter `sources.exam_tallies`.

Days are the deployment's local days (TIMEZONE). Administrators see the whole platform's figures; an officer sees
their own authority's applications, certificates and median (the applications it received, the certificates issued
on its first-issue applications or bearing its name), and the pass rates of every centre (exams are not an
authority's).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import statistics

import sqlalchemy as sa
from flask_babel import gettext as _

from opcert.access import Role
from opcert.accounts.models import Organisation, OrgKind, User
from opcert.certificates import sources
from opcert.certificates.applications_models import ApplicationStatus, CertificateApplication, Matter
from opcert.certificates.models import Certificate
from opcert.errors import DomainError
from opcert.extensions import db
from opcert.timeutil import from_local, local

MAX_PERIOD_DAYS = 3660


class PeriodError(DomainError):
    """A period that cannot be counted."""


@dataclasses.dataclass(frozen=True)
class PassRate:
    """Taken and passed per part for one item or one centre."""

    label: str
    theory_taken: int = 0
    theory_passed: int = 0
    practical_taken: int = 0
    practical_passed: int = 0

    @staticmethod
    def rate(passed: int, taken: int) -> float | None:
        """The pass rate in percent (one decimal), None when nobody took the part."""
        return round(100 * passed / taken, 1) if taken else None

    @property
    def theory_rate(self) -> float | None:
        """Theory pass rate in percent."""
        return self.rate(self.theory_passed, self.theory_taken)

    @property
    def practical_rate(self) -> float | None:
        """Practical pass rate in percent."""
        return self.rate(self.practical_passed, self.practical_taken)


@dataclasses.dataclass(frozen=True)
class Statistics:
    """The figures of one period."""

    start: dt.date
    end: dt.date
    applications_received: int
    certificates_issued: int
    approvals_measured: int
    median_working_days: float | None
    by_item: list[PassRate]
    by_centre: list[PassRate]
    authority: str = ""  # whose figures: an authority's name, "" for the whole platform


def parse_period(start: str | None, end: str | None, *, today: dt.date) -> tuple[dt.date, dt.date]:
    """The period from the page's fields (YYYY-MM-DD); by default this month up to today."""
    try:
        first = dt.date.fromisoformat(start.strip()) if start and start.strip() else today.replace(day=1)
        last = dt.date.fromisoformat(end.strip()) if end and end.strip() else today
    except ValueError:
        raise PeriodError.on_field(_("日期格式应为“年-月-日”，例如 2026-11-01。"), "start") from None
    if first > last:
        raise PeriodError.on_field(_("开始日期不能晚于结束日期。"), "start")
    if (last - first).days > MAX_PERIOD_DAYS:
        raise PeriodError.on_field(_("统计期间最长%(days)d天。", days=MAX_PERIOD_DAYS), "start")
    return first, last


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The period's local days as UTC instants [from, to)."""
    return (
        from_local(dt.datetime.combine(start, dt.time())),
        from_local(dt.datetime.combine(end + dt.timedelta(days=1), dt.time())),
    )


def _count(query: sa.Select[tuple[int]]) -> int:
    return int(db.session.execute(query).scalar_one())


def _pass_rates(tallies: list[sources.ExamTally], key: str) -> list[PassRate]:
    totals: dict[str, dict[str, int]] = {}
    for tally in tallies:
        label = f"{tally.item_code} {tally.item_name}" if key == "item" else tally.centre_name
        counts = totals.setdefault(label, {})
        counts[f"{tally.part}_taken"] = counts.get(f"{tally.part}_taken", 0) + tally.taken
        counts[f"{tally.part}_passed"] = counts.get(f"{tally.part}_passed", 0) + tally.passed
    return [PassRate(label, **counts) for label, counts in sorted(totals.items())]


def _issued_by(authority: Organisation) -> sa.ColumnElement[bool]:
    """Certificates the authority issued: on one of its first-issue applications, or bearing its name."""
    approved_here = sa.select(CertificateApplication.certificate_id).where(
        CertificateApplication.authority_id == authority.id,
        CertificateApplication.matter == Matter.FIRST_ISSUE,
        CertificateApplication.certificate_id.is_not(None),
    )
    return sa.or_(Certificate.id.in_(approved_here), Certificate.authority == authority.name)


def viewer_authority(viewer: User | None) -> Organisation | None:
    """Whose figures the viewer sees: None (all) for an administrator or no viewer; an officer's own authority."""
    if viewer is None or viewer.role is Role.ADMIN:
        return None
    org = db.session.get(Organisation, viewer.organisation_id) if viewer.organisation_id else None
    if org is None or org.kind is not OrgKind.AUTHORITY:
        raise PeriodError(_("您的账号未绑定发证机关，不能查看发证统计。"))
    return org


def period_statistics(*, start: dt.date, end: dt.date, authority: Organisation | None = None) -> Statistics:
    """The figures for the local days from `start` to `end` (inclusive): the authority's, or all (None)."""
    since, until = _bounds(start, end)
    ours = (CertificateApplication.authority_id == authority.id,) if authority is not None else ()
    received = _count(
        sa.select(sa.func.count(CertificateApplication.id)).where(
            CertificateApplication.submitted_at >= since, CertificateApplication.submitted_at < until, *ours
        )
    )
    issued_here = (_issued_by(authority),) if authority is not None else ()
    issued = _count(
        sa.select(sa.func.count(Certificate.id)).where(
            Certificate.issued_at >= since, Certificate.issued_at < until, *issued_here
        )
    )
    approved = db.session.execute(
        sa.select(CertificateApplication.submitted_at, CertificateApplication.decided_at).where(
            CertificateApplication.status == ApplicationStatus.APPROVED,
            CertificateApplication.certificate_id.is_not(None),
            CertificateApplication.decided_at >= since,
            CertificateApplication.decided_at < until,
            *ours,
        )
    ).all()
    days = [
        sources.working_days_between(local(submitted).date(), local(decided).date())
        for submitted, decided in approved
        if decided is not None
    ]
    tallies = sources.exam_tallies(start=start, end=end)
    return Statistics(
        start=start,
        end=end,
        applications_received=received,
        certificates_issued=issued,
        approvals_measured=len(days),
        median_working_days=float(statistics.median(days)) if days else None,
        by_item=_pass_rates(tallies, "item"),
        by_centre=_pass_rates(tallies, "centre"),
        authority=authority.name if authority is not None else "",
    )


def statistics_for(*, start: str | None, end: str | None, today: dt.date, viewer: User | None = None) -> Statistics:
    """The figures of the period typed on the page (YYYY-MM-DD; by default this month up to today) that the viewer
    may see: an officer's authority's, an administrator's all."""
    authority = viewer_authority(viewer)
    first, last = parse_period(start, end, today=today)
    return period_statistics(start=first, end=last, authority=authority)


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _text(value: str) -> str:
    """A name as a CSV cell: one that starts like a formula is not run by a spreadsheet."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def statistics_csv(figures: Statistics) -> str:
    """The figures as CSV (UTF-8 with a byte-order mark, so that spreadsheet programs read the Chinese)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([_("统计期间"), figures.start.isoformat(), figures.end.isoformat()])
    writer.writerow([_("收到申请数"), figures.applications_received])
    writer.writerow([_("发证数"), figures.certificates_issued])
    writer.writerow([_("申请至发证工作日中位数"), _cell(figures.median_working_days), figures.approvals_measured])
    for title, rows in ((_("按操作项目"), figures.by_item), (_("按考点"), figures.by_centre)):
        writer.writerow([])
        writer.writerow(
            [
                title,
                _("理论考试人次"),
                _("理论合格"),
                _("理论合格率%"),
                _("实操考试人次"),
                _("实操合格"),
                _("实操合格率%"),
            ]
        )
        for row in rows:
            writer.writerow(
                [
                    _text(row.label),
                    row.theory_taken,
                    row.theory_passed,
                    _cell(row.theory_rate),
                    row.practical_taken,
                    row.practical_passed,
                    _cell(row.practical_rate),
                ]
            )
    return out.getvalue()
