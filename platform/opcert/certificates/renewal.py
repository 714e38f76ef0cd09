"""The life of a certificate after issue: 复审 review, the 6-year rule, 延期复审 extension, 补办 reissue, reminders.

Each is a *matter* of an application (applications_models.Matter) that goes through the same dossier and review
queue as the first issue. Review and extension open CERT_RENEWAL_WINDOW_DAYS before the date they are due; they need
the review training (the item's review hours, at least CERT_REVIEW_TRAINING_HOURS: training.required_minutes) and
a clean record (`record_problems`). An extension gives the same certificate row a new validity period; the old one
is kept in certificate_periods (docs/decisions/0004-extension-keeps-one-certificate-row.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from opcert.accounts.models import User
from opcert.audit.services import record_event
from opcert.certificates import applications, services
from opcert.certificates.applications_models import ApplicationStatus, CertificateApplication, Delivery, Matter
from opcert.certificates.models import Certificate, CertificateEvent, CertificateStatus, EventKind
from opcert.certificates.renewal_models import CertificatePeriod, CertificateReminder, ReminderKind
from opcert.certificates.sources import working_days_after
from opcert.db import utcnow
from opcert.errors import NotFoundError
from opcert.extensions import db
from opcert.notifications.kinds import register_kinds
from opcert.notifications.services import notify
from opcert.timeutil import from_local, local
from opcert.training import services as training
from opcert.training.models import CoursePurpose

REMINDER_NOTICE = "certificate_reminder"
register_kinds({REMINDER_NOTICE: _l("证书复审与有效期提醒")})
RENEWABLE = frozenset({CertificateStatus.VALID, CertificateStatus.REVIEW_DUE})
# Statuses in the history that make a record unclean.
UNCLEAN = frozenset({CertificateStatus.SUSPENDED, CertificateStatus.REVOKED})


def _window_days() -> int:
    return int(current_app.config["CERT_RENEWAL_WINDOW_DAYS"])


def renewal_matter(certificate: Certificate) -> Matter:
    """The matter the certificate's next date calls for: extension when the review falls at the end of validity."""
    return Matter.EXTENSION if certificate.review_due_on >= certificate.valid_until else Matter.REVIEW


def due_on(certificate: Certificate, matter: Matter) -> dt.date:
    """The day a review or extension is due."""
    return certificate.valid_until if matter is Matter.EXTENSION else certificate.review_due_on


@dataclasses.dataclass(frozen=True)
class Opening:
    """A matter the holder may apply for on a certificate, and when."""

    matter: Matter
    opens_on: dt.date | None  # None: no window (reissue)
    due_on: dt.date | None
    open_now: bool
    pending: CertificateApplication | None


def openings(certificate: Certificate, today: dt.date) -> list[Opening]:
    """What can be applied for on the certificate today, and from when (the holder's certificate page)."""
    status = services.status_on(certificate, today)
    if status not in RENEWABLE:
        return []
    user_id = certificate.holder.user_id
    matter = renewal_matter(certificate)
    due = due_on(certificate, matter)
    opens = due - dt.timedelta(days=_window_days())
    return [
        Opening(matter, opens, due, opens <= today <= due, _open(user_id, certificate.item_id, matter)),
        Opening(Matter.REISSUE, None, None, True, _open(user_id, certificate.item_id, Matter.REISSUE)),
    ]


def holder_overview(user: User, today: dt.date) -> list[tuple[Certificate, CertificateStatus, list[Opening]]]:
    """The person's certificates with today's status and what can be applied for on each."""
    return [(c, services.status_on(c, today), openings(c, today)) for c in services.holder_certificates(user.id)]


def _open_key(user_id: int, item_id: int, matter: Matter) -> str:
    return f"{user_id}:{item_id}:{matter.value}"


def _open(user_id: int, item_id: int, matter: Matter) -> CertificateApplication | None:
    return db.session.execute(
        sa.select(CertificateApplication).where(CertificateApplication.open_key == _open_key(user_id, item_id, matter))
    ).scalar()


def period_start(certificate: Certificate) -> dt.date:
    """The day the current review period began: the last review or extension, else the (latest) first issue."""
    renewed = [e.on for e in certificate.events if e.kind in (EventKind.REVIEW, EventKind.EXTENSION)]
    return max([*renewed, certificate.first_issued_on])


def record_problems(certificate: Certificate, since: dt.date) -> list[str]:
    """The clean-record rule: every suspension or revocation in the history since `since` (empty: clean)."""
    return [
        str(_("%(day)s 证书被%(status)s：%(reason)s", day=e.on.isoformat(), status=e.status.label, reason=e.reason))
        for e in certificate.events
        if e.status in UNCLEAN and e.on >= since
    ]


def review_training(user: User, certificate: Certificate) -> tuple[int, int]:
    """(seconds counted, seconds required) of the holder's review training (复审培训) for the item: only study
    credited in this review period (since `period_start`) and in the course's current round counts."""
    item = certificate.item
    required = training.required_minutes(item, CoursePurpose.REVIEW) * 60  # what a complete review course holds
    since = from_local(dt.datetime.combine(period_start(certificate), dt.time()))
    counted = [
        training.counted_since(trainee=user, course=e.course, since=since)
        for e in training.enrolments(user)
        if e.course.item_id == item.id and e.course.purpose is CoursePurpose.REVIEW
    ]
    return max(counted, default=0), required


def review_enrolment(user: User, certificate: Certificate, on: dt.date) -> training.EnrolmentStanding:
    """Where the holder stands with the item's review course (复审培训): enrolled, free to enrol, or why not (the
    rules the enrolment itself applies). The renewal page offers the enrolment only when the holder can enrol."""
    return training.enrolment_standing(trainee=user, item=certificate.item, on=on, purpose=CoursePurpose.REVIEW)


def review_training_missing(user: User, certificate: Certificate) -> str:
    """What the holder's review training of this period still lacks, in Chinese ("" when complete)."""
    counted, required = review_training(user, certificate)
    if counted >= required:
        return ""
    return str(
        _(
            "本复审周期内已计入复审培训%(counted)s，还差%(left)s（要求%(required)s）。",
            counted=training.format_minutes(counted),
            left=training.format_minutes(required - counted),
            required=training.format_minutes(required),
        )
    )


def _refuse(
    user: User, certificate: Certificate, matter: Matter, code: str, message: str
) -> applications.ApplicationError:
    record_event(
        "certificate.renewal_refused",
        object_type="certificate",
        object_id=certificate.holder.number,
        details={"matter": matter.value, "reason": code, "item": certificate.item.code},
        actor_id=user.id,
    )
    return applications.ApplicationError(message)


def _own(user: User, certificate: Certificate) -> None:
    if certificate.holder.user_id != user.id:
        raise NotFoundError(_("证书不存在。"))


def _check_window(user: User, certificate: Certificate, matter: Matter, today: dt.date) -> None:
    due = due_on(certificate, matter)
    opens = due - dt.timedelta(days=_window_days())
    if today < opens:
        message = _("%(matter)s申请将于%(day)s开放（应于%(due)s前办理）。", matter=matter.label, day=opens, due=due)
        raise _refuse(user, certificate, matter, "not_open", message)
    if today > due:
        message = _("已超过%(matter)s期限（%(due)s），请联系发证机关。", matter=matter.label, due=due)
        raise _refuse(user, certificate, matter, "overdue", message)


def _check_common(user: User, certificate: Certificate, matter: Matter, today: dt.date) -> None:
    status = services.status_on(certificate, today)
    if status not in RENEWABLE:
        message = _("证书当前为“%(status)s”，不能申请%(matter)s。", status=status.label, matter=matter.label)
        raise _refuse(user, certificate, matter, "status", message)
    if _open(user.id, certificate.item_id, matter) is not None:
        message = _("您已有该证书的%(matter)s申请在办理中，不能重复申请。", matter=matter.label)
        raise _refuse(user, certificate, matter, "open", message)


def _new_application(
    *,
    user: User,
    certificate: Certificate,
    matter: Matter,
    dossier: dict[str, Any],
    delivery: Delivery,
    mail: applications.MailAddress,
    signed: bool,
    now: dt.datetime,
) -> CertificateApplication:
    version, text = applications.commitment() if signed else ("", "")
    is_mail = delivery is Delivery.MAIL
    application = CertificateApplication(
        user_id=user.id,
        item_id=certificate.item_id,
        authority_id=applications.competent_authority(user, certificate.item, matter).id,
        status=ApplicationStatus.SUBMITTED,
        matter=matter,
        open_key=_open_key(user.id, certificate.item_id, matter),
        dossier=json.dumps(dossier, ensure_ascii=False),
        commitment_version=version,
        commitment_text=text,
        signed_at=now,
        delivery=delivery,
        mail_address=mail.address.strip() if is_mail else "",
        mail_recipient=mail.recipient.strip() if is_mail else "",
        mail_phone=mail.phone.strip() if is_mail else "",
        submitted_at=now,
        accept_by=working_days_after(local(now).date(), int(current_app.config["CERT_ACCEPT_WORKING_DAYS"])),
        certificate_id=certificate.id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(application)
            db.session.flush()
    except sa.exc.IntegrityError:  # a concurrent submission of the same matter won
        raise applications.ApplicationError(
            _("您已有该证书的%(matter)s申请在办理中，不能重复申请。", matter=matter.label)
        ) from None
    record_event(
        "certificate.application_submitted",
        object_type="certificate_application",
        object_id=application.id,
        details={"item": certificate.item.code, "delivery": delivery.value, "matter": matter.value},
        actor_id=user.id,
    )
    return application


def _base_dossier(user: User, certificate: Certificate, matter: Matter) -> dict[str, Any]:
    return {
        "matter": matter.value,
        "name": certificate.holder.name,
        "id_number": user.id_number or "",
        "mobile": user.mobile or "",
        "number": certificate.holder.number,
        "item": f"{certificate.item.code} {certificate.item.name}",
        "first_issued_on": certificate.first_issued_on.isoformat(),
        "valid_until": certificate.valid_until.isoformat(),
        "review_due_on": certificate.review_due_on.isoformat(),
    }


def apply_for_renewal(
    *,
    user: User,
    certificate: Certificate,
    signed: bool,
    work_years: int | None,
    employer: str,
    delivery: Delivery = Delivery.ELECTRONIC,
    mail: applications.MailAddress | None = None,
    now: dt.datetime | None = None,
) -> CertificateApplication:
    """Apply for the review (复审) or, at the end of validity, the extension (延期复审) the certificate is due for.

    Refused and audited outside the window (with the day it opens), without the review training, with an unclean
    record, twice, or on a certificate that is not valid; the continuous years of work and the employer are the
    holder's declaration for the 6-year rule."""
    now = now or utcnow()
    mail = mail or applications.MailAddress()
    _own(user, certificate)
    today = local(now).date()
    matter = renewal_matter(certificate)
    _check_common(user, certificate, matter, today)
    _check_window(user, certificate, matter, today)
    counted, required = review_training(user, certificate)
    if counted < required:
        message = _(
            "复审培训学时不足：要求%(required)s，已计入%(counted)s。请先完成复审培训。",
            required=training.format_minutes(required),
            counted=training.format_minutes(counted),
        )
        raise _refuse(user, certificate, matter, "training", message)
    problems = record_problems(certificate, period_start(certificate))
    if problems:
        message = _(
            "本复审周期内有不良记录，不能申请%(matter)s：%(list)s", matter=matter.label, list="；".join(problems)
        )
        raise _refuse(user, certificate, matter, "record", message)
    fields: dict[str, str] = {}
    if not signed:
        fields["signed"] = _("请阅读并签署告知承诺书。")
    if work_years is not None and not 0 <= work_years <= 60:
        fields["work_years"] = _("连续从业年限应在0到60年之间。")
    if work_years and not employer.strip():
        fields["employer"] = _("申报连续从业年限时请填写用人单位。")
    if matter is Matter.EXTENSION:
        fields.update(applications.mail_problems(delivery, mail))
    if fields:
        raise applications.ApplicationError(" ".join(fields.values()), fields)
    dossier = _base_dossier(user, certificate, matter) | {
        "training": {"counted": training.format_minutes(counted), "required": training.format_minutes(required)},
        "record": "clean",
        "work_years": work_years or 0,
        "employer": employer.strip()[:100],
    }
    return _new_application(
        user=user,
        certificate=certificate,
        matter=matter,
        dossier=dossier,
        delivery=delivery if matter is Matter.EXTENSION else Delivery.ELECTRONIC,
        mail=mail,
        signed=True,
        now=now,
    )


def apply_for_reissue(
    *,
    user: User,
    certificate: Certificate,
    reason: str,
    delivery: Delivery,
    mail: applications.MailAddress,
    now: dt.datetime | None = None,
) -> CertificateApplication:
    """Apply for a new card of a lost or damaged one (补办): the reason and the delivery, as at the first issue."""
    now = now or utcnow()
    _own(user, certificate)
    _check_common(user, certificate, Matter.REISSUE, local(now).date())
    fields = applications.mail_problems(delivery, mail)
    if not reason.strip():
        fields["reason"] = _("请写明补办原因（如遗失、损毁）。")
    if fields:
        raise applications.ApplicationError(" ".join(fields.values()), fields)
    dossier = _base_dossier(user, certificate, Matter.REISSUE) | {"reason": reason.strip()[:200]}
    return _new_application(
        user=user,
        certificate=certificate,
        matter=Matter.REISSUE,
        dossier=dossier,
        delivery=delivery,
        mail=mail,
        signed=False,
        now=now,
    )


# --- decisions (called by applications.approve for every matter but the first issue) ---------------


def _refuse_decision(officer: User, application: CertificateApplication, code: str, message: str) -> Exception:
    record_event(
        "certificate.renewal_approval_refused",
        object_type="certificate_application",
        object_id=application.id,
        details={"matter": application.matter.value, "reason": code},
        actor_id=officer.id,
    )
    return applications.ApplicationError(message)


def _record(
    certificate: Certificate, kind: EventKind, reason: str, officer: User, now: dt.datetime, audit: str
) -> None:
    today = local(now).date()
    if kind is not EventKind.REISSUE:
        certificate.status, certificate.status_reason, certificate.status_on = CertificateStatus.VALID, "", today
    db.session.add(
        CertificateEvent(
            certificate=certificate,
            status=certificate.status,
            kind=kind,
            reason=reason[:200],
            on=today,
            at=now,
            actor_id=officer.id,
        )
    )
    record_event(
        audit,
        object_type="certificate",
        object_id=certificate.holder.number,
        details={"item": certificate.item.code, "review_due_on": certificate.review_due_on.isoformat()},
        actor_id=officer.id,
    )


def six_year_problems(certificate: Certificate, dossier: dict[str, Any]) -> list[str]:
    """Why the 6-year rule cannot apply: fewer declared years of continuous work, or any blot since first issue."""
    years = int(current_app.config["CERT_SIX_YEAR_WORK_YEARS"])
    problems = []
    if int(dossier.get("work_years") or 0) < years:
        problems.append(str(_("申请人申报的连续从业年限不足%(n)d年。", n=years)))
    return problems + record_problems(certificate, certificate.first_issued_on)


def check_approval(*, officer: User, application: CertificateApplication, six_years: bool) -> Certificate:
    """The application's certificate, if the matter may be approved now (refusals audited, nothing changed)."""
    if application.certificate_id is None:
        raise NotFoundError(_("证书不存在。"))
    certificate = services.get_certificate(application.certificate_id)
    allowed = RENEWABLE | ({CertificateStatus.EXPIRED} if application.matter is Matter.EXTENSION else set())
    if certificate.status not in allowed:
        message = _(
            "证书当前为“%(status)s”，不能批准%(matter)s。",
            status=certificate.status.label,
            matter=application.matter.label,
        )
        raise _refuse_decision(officer, application, "status", message)
    if application.matter is Matter.REISSUE:
        return certificate
    problems = record_problems(certificate, period_start(certificate))
    if problems:
        message = _("申请人本周期内有不良记录：%(list)s", list="；".join(problems))
        raise _refuse_decision(officer, application, "record", message)
    if six_years:
        problems = six_year_problems(certificate, applications.dossier_of(application))
        if problems:
            message = _("不符合每6年复审一次的条件：%(list)s", list="；".join(problems))
            raise _refuse_decision(officer, application, "six_years", message)
    return certificate


def carry_out(
    *, officer: User, application: CertificateApplication, certificate: Certificate, six_years: bool, now: dt.datetime
) -> None:
    """The approved matter on its certificate: the next review date, a new period (re-sealed), or a new card."""
    if application.matter is Matter.REISSUE:
        reason = _("补发证书：%(reason)s", reason=applications.dossier_of(application).get("reason", ""))
        _record(certificate, EventKind.REISSUE, reason, officer, now, "certificate.reissued")
        return
    if application.matter is Matter.EXTENSION:
        _new_period(certificate, local(now).date(), six_years, now)
        reason = _("延期复审合格，换发新证，有效期至%(day)s", day=certificate.valid_until.isoformat())
        kind, audit = EventKind.EXTENSION, "certificate.extended"
    else:
        step = services.add_years(certificate.review_due_on, int(current_app.config["CERT_REVIEW_YEARS"]))
        certificate.review_due_on = certificate.valid_until if six_years else min(step, certificate.valid_until)
        reason = _("复审合格，下次复审日期%(day)s", day=certificate.review_due_on.isoformat())
        kind, audit = EventKind.REVIEW, "certificate.reviewed"
    if six_years:
        reason = f"{reason}{_('（连续从业10年以上，每6年复审一次）')}"
    services.reseal(certificate)
    _record(certificate, kind, reason, officer, now, audit)


def _new_period(certificate: Certificate, today: dt.date, six_years: bool, now: dt.datetime) -> None:
    """The extension's new certificate: the old period kept, a new one from the end of the old (or today)."""
    services.keep_period(certificate, now)
    config = current_app.config
    starts = max(certificate.valid_until, today)
    certificate.issued_at = now.replace(microsecond=0)
    certificate.valid_until = services.add_years(starts, int(config["CERT_VALID_YEARS"]))
    review = services.add_years(starts, int(config["CERT_REVIEW_YEARS"]))
    certificate.review_due_on = certificate.valid_until if six_years else review


def past_periods(certificate_id: int) -> list[CertificatePeriod]:
    """The certificate's earlier validity periods, oldest first."""
    return list(
        db.session.execute(
            sa.select(CertificatePeriod)
            .where(CertificatePeriod.certificate_id == certificate_id)
            .order_by(CertificatePeriod.id)
        ).scalars()
    )


# --- reminders ----------------------------------------------------------------------------------------


def _reminder_days() -> list[int]:
    return sorted({int(d) for d in str(current_app.config["CERT_REMINDER_DAYS"]).split(",") if d.strip()})


def send_reminders(*, now: dt.datetime | None = None) -> int:
    """The scheduled run: remind holders CERT_REMINDER_DAYS (60, 30) days before review and expiry, each once.

    A reminder is a conditional insert on (certificate, kind, date, days): a second run, or a concurrent one, sends
    nothing again. Only the nearest threshold crossed is sent (a run after a pause does not send the 60-day one
    at 20 days). No reminder while the matter is applied for. Delivery outside the platform follows the commit."""
    now = now or utcnow()
    today = local(now).date()
    days = _reminder_days()
    rows = db.session.execute(
        sa.select(Certificate).where(Certificate.status.in_(RENEWABLE)).order_by(Certificate.id)
    ).scalars()
    sent = 0
    for certificate in rows:
        matter = renewal_matter(certificate)
        kind = ReminderKind.EXPIRY if matter is Matter.EXTENSION else ReminderKind.REVIEW
        due = due_on(certificate, matter)
        crossed = [d for d in days if today >= due - dt.timedelta(days=d)]
        if today >= due or not crossed or _open(certificate.holder.user_id, certificate.item_id, matter):
            continue
        values = {"certificate_id": certificate.id, "kind": kind, "due_on": due, "days": min(crossed), "sent_at": now}
        if services.insert_once(CertificateReminder, values):
            _remind(certificate, matter, due)
            sent += 1
    return sent


def _remind(certificate: Certificate, matter: Matter, due: dt.date) -> None:
    item = certificate.item.name
    if matter is Matter.EXTENSION:
        subject = _("证书有效期即将届满")
        body = _("您的“%(item)s”证书有效期至%(day)s，请在此前申请延期复审。", item=item, day=due)
    else:
        subject = _("证书即将到期复审")
        body = _("您的“%(item)s”证书应于%(day)s前复审，请完成复审培训后在线申请复审。", item=item, day=due)
    notify(user_id=certificate.holder.user_id, kind=REMINDER_NOTICE, subject=subject, body=body)
