"""Applying for a certificate and reviewing the application (线上审核发证, 零材料).

The application is prefilled from what the platform holds (identity, photo status, training, exam results); the
person adds only the signed commitment and the delivery. It goes to the competent authority
(certificates.routing), whose officers accept it or return it with one list of every correction, then approve
(issue_certificate, idempotent) or refuse with a reason code. Deadlines are counted in working days.
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

from opcert.accounts.models import Organisation, User
from opcert.audit.services import record_event
from opcert.catalogue.models import Item
from opcert.certificates import mail, routing, sanctions, services
from opcert.certificates.applications_models import (
    REFUSAL_REASONS,
    ApplicationStatus,
    CertificateApplication,
    Delivery,
    Matter,
)
from opcert.certificates.authority_models import Matter as RoutedMatter
from opcert.certificates.models import Certificate
from opcert.certificates.sources import passed_exams, working_days_after
from opcert.db import rowcount, utcnow
from opcert.errors import DomainError, NotFoundError
from opcert.extensions import db
from opcert.notifications.kinds import register_kinds
from opcert.notifications.services import notify
from opcert.timeutil import local
from opcert.training import services as training
from photos import services as photos

APPLICATION_NOTICE = "certificate_application"
register_kinds({APPLICATION_NOTICE: _l("发证申请")})


class ApplicationError(DomainError):
    """An application that cannot be made or decided as asked."""


@dataclasses.dataclass(frozen=True)
class MailAddress:
    """Where a mailed card goes."""

    address: str = ""
    recipient: str = ""
    phone: str = ""


# The routing rules' matter (authority_models.Matter) of each kind of application: 延期复审 is a review there.
ROUTED_MATTERS = {
    Matter.FIRST_ISSUE: RoutedMatter.FIRST_ISSUE,
    Matter.REVIEW: RoutedMatter.REVIEW,
    Matter.EXTENSION: RoutedMatter.REVIEW,
    Matter.REISSUE: RoutedMatter.REISSUE,
}


def competent_authority(
    user: User | None = None, item: Item | None = None, matter: Matter = Matter.FIRST_ISSUE
) -> Organisation:
    """The authority the person's application for the matter goes to, by the routing rules for that matter (no
    rule: the default authority; no person: the default authority)."""
    try:
        if user is None:
            return routing.default_authority()
        return routing.competent_authority(user=user, item=item, matter=ROUTED_MATTERS[matter])
    except routing.RoutingError as exc:
        raise ApplicationError(exc.message) from None


def _training_summary(user: User, item: Item) -> dict[str, Any]:
    progress = [
        training.course_progress(trainee=user, course=e.course)
        for e in training.enrolments(user)
        if e.course.item_id == item.id
    ]
    best = max(progress, key=lambda p: p.counted, default=None)
    return {
        "course": best.course.title if best else "",
        "counted": training.format_minutes(best.counted) if best else "",
        "required": training.format_minutes(best.required) if best else "",
        "face_checks_passed": best.face_checks_passed if best else 0,
        "problems": training.training_shortfall(user, item, local(utcnow()).date()),
    }


def prefill(user: User, item: Item, on: dt.date) -> dict[str, Any]:
    """What the platform holds for the application (raises when the exams are not both passed)."""
    exams = passed_exams(user_id=user.id, item_id=item.id, on=on)
    if exams is None:
        raise ApplicationError(
            _("“%(item)s”的理论和实操考试尚未全部合格（或成绩已过有效期），暂不能申请发证。", item=item.name)
        )
    photo = photos.reference_status(user.id_number) if user.id_number else None
    return {
        "name": user.real_name,
        "id_number": user.id_number or "",
        "mobile": user.mobile or "",
        "item": f"{item.code} {item.name}",
        "photo": photo.case.value if photo else "missing",
        "training": _training_summary(user, item),
        "exams": {
            "theory_score": exams.theory_score,
            "theory_date": exams.theory_date.isoformat(),
            "practical_score": exams.practical_score,
            "practical_date": exams.practical_date.isoformat(),
            "theory_session_id": exams.theory_session_id,
            "practical_session_id": exams.practical_session_id,
        },
    }


def dossier_of(application: CertificateApplication) -> dict[str, Any]:
    """The application's stored dossier."""
    loaded: dict[str, Any] = json.loads(application.dossier)
    return loaded


def commitment() -> tuple[str, str]:
    """The commitment in force: (version, text)."""
    return str(current_app.config["CERT_COMMITMENT_VERSION"]), str(current_app.config["CERT_COMMITMENT_TEXT"])


def mail_problems(delivery: Delivery, mail: MailAddress) -> dict[str, str]:
    """What a mailed card's address lacks (field → message); nothing for electronic delivery."""
    if delivery is not Delivery.MAIL:
        return {}
    missing = {
        "address": (mail.address, _("请填写邮寄地址。")),
        "recipient": (mail.recipient, _("请填写收件人。")),
        "phone": (mail.phone, _("请填写收件人电话。")),
    }
    problems = {field: message for field, (value, message) in missing.items() if not value.strip()}
    phone = mail.phone.strip()
    if phone and not (7 <= len(phone) <= 20 and phone.replace("-", "").isdigit()):
        problems["phone"] = _("收件人电话格式不正确。")
    return problems


def _refuse(user: User, item: Item, code: str, message: str) -> ApplicationError:
    record_event(
        "certificate.application_refused",
        object_type="item",
        object_id=item.id,
        details={"reason": code},
        actor_id=user.id,
    )
    return ApplicationError(message)


def _audit(
    application: CertificateApplication, action: str, actor_id: int, details: dict[str, Any] | None = None
) -> None:
    record_event(
        action, object_type="certificate_application", object_id=application.id, details=details, actor_id=actor_id
    )


def open_application(user_id: int, item_id: int) -> CertificateApplication | None:
    """The person's open application for the item, if any."""
    return db.session.execute(
        sa.select(CertificateApplication).where(CertificateApplication.open_key == f"{user_id}:{item_id}")
    ).scalar()


def _has_certificate(user: User, item: Item, on: dt.date) -> bool:
    """Whether the person holds a certificate for the item still in force (an ended one may be applied for again)."""
    return any(c.item_id == item.id and services.in_force(c, on) for c in services.holder_certificates(user.id))


def submit_application(
    *, user: User, item: Item, signed: bool, delivery: Delivery, mail: MailAddress, now: dt.datetime | None = None
) -> CertificateApplication:
    """Submit the person's application: refused (and audited) without passing, twice, or with missing data."""
    now = now or utcnow()
    if (barred := sanctions.reapplication_bar(user=user, item=item, on=local(now).date())) is not None:
        raise _refuse(user, item, "barred", barred)
    if open_application(user.id, item.id) is not None:
        raise _refuse(user, item, "open", _("您已有“%(item)s”的发证申请在办理中，不能重复申请。", item=item.name))
    if _has_certificate(user, item, local(now).date()):
        raise _refuse(user, item, "certificate", _("您已持有“%(item)s”的证书，不能重复申请。", item=item.name))
    try:
        dossier = prefill(user, item, local(now).date())
    except ApplicationError as exc:
        raise _refuse(user, item, "not_passed", exc.message) from None
    problems = mail_problems(delivery, mail)
    if not signed:
        problems["signed"] = _("请阅读并签署告知承诺书。")
    if problems:
        raise ApplicationError(" ".join(problems.values()), problems)
    version, text = commitment()
    application = CertificateApplication(
        user_id=user.id,
        item_id=item.id,
        authority_id=competent_authority(user, item).id,
        status=ApplicationStatus.SUBMITTED,
        open_key=f"{user.id}:{item.id}",
        dossier=json.dumps(dossier, ensure_ascii=False),
        commitment_version=version,
        commitment_text=text,
        signed_at=now,
        delivery=delivery,
        mail_address=mail.address.strip() if delivery is Delivery.MAIL else "",
        mail_recipient=mail.recipient.strip() if delivery is Delivery.MAIL else "",
        mail_phone=mail.phone.strip() if delivery is Delivery.MAIL else "",
        submitted_at=now,
        accept_by=working_days_after(local(now).date(), int(current_app.config["CERT_ACCEPT_WORKING_DAYS"])),
    )
    try:
        with db.session.begin_nested():
            db.session.add(application)
            db.session.flush()
    except sa.exc.IntegrityError:  # a concurrent submission of the same application won
        raise ApplicationError(_("您已有“%(item)s”的发证申请在办理中，不能重复申请。", item=item.name)) from None
    _audit(
        application,
        "certificate.application_submitted",
        user.id,
        {"item": item.code, "delivery": delivery.value, "commitment": version},
    )
    return application


def resubmit(
    *, application: CertificateApplication, user: User, signed: bool, delivery: Delivery, mail: MailAddress
) -> CertificateApplication:
    """The person fixes a returned application and submits it again (the acceptance deadline starts anew)."""
    if application.user_id != user.id:
        raise NotFoundError(_("找不到该申请。"))
    if application.status is not ApplicationStatus.RETURNED:
        raise ApplicationError(_("该申请当前不需要补正。"))
    problems = mail_problems(delivery, mail)
    if not signed:
        problems["signed"] = _("请阅读并签署告知承诺书。")
    if problems:
        raise ApplicationError(" ".join(problems.values()), problems)
    now = utcnow()
    version, text = commitment()
    if application.matter is Matter.FIRST_ISSUE:  # a later matter's dossier stays as the holder declared it
        application.dossier = json.dumps(prefill(user, application.item, local(now).date()), ensure_ascii=False)
    application.commitment_version, application.commitment_text, application.signed_at = version, text, now
    application.delivery = delivery
    is_mail = delivery is Delivery.MAIL
    application.mail_address = mail.address.strip() if is_mail else ""
    application.mail_recipient = mail.recipient.strip() if is_mail else ""
    application.mail_phone = mail.phone.strip() if is_mail else ""
    application.status = ApplicationStatus.SUBMITTED
    application.submitted_at = now
    days = int(current_app.config["CERT_ACCEPT_WORKING_DAYS"])
    application.accept_by = working_days_after(local(now).date(), days)
    _audit(application, "certificate.application_resubmitted", user.id)
    return application


def my_applications(user_id: int) -> list[CertificateApplication]:
    """The person's applications, newest first."""
    return list(
        db.session.execute(
            sa.select(CertificateApplication)
            .where(CertificateApplication.user_id == user_id)
            .order_by(CertificateApplication.id.desc())
        ).scalars()
    )


def applicable_items(user: User) -> list[tuple[Item, CertificateApplication | None]]:
    """The items the person trained for whose exams are both passed, with the open application if any."""
    today = local(utcnow()).date()
    held = {c.item_id for c in services.holder_certificates(user.id) if services.in_force(c, today)}
    rows = []
    for item_id in sorted(training.enrolled_item_ids(user.id) - held):
        item = db.session.get(Item, item_id)
        if item is not None and passed_exams(user_id=user.id, item_id=item_id, on=today) is not None:
            rows.append((item, open_application(user.id, item_id)))
    return rows


def item_to_apply(item_id: int) -> Item:
    """The item asked for (NotFoundError for an unknown one)."""
    item = db.session.get(Item, item_id)
    if item is None:
        raise NotFoundError(_("找不到该操作项目。"))
    return item


def own_application(user: User, application_id: int) -> CertificateApplication:
    """One of the person's applications (NotFoundError for anyone else's)."""
    application = db.session.get(CertificateApplication, application_id)
    if application is None or application.user_id != user.id:
        raise NotFoundError(_("找不到该申请。"))
    return application


# The review queue (officers of the competent authority).


def queue(officer: User) -> list[CertificateApplication]:
    """The open applications of the officer's authority, oldest deadline first."""
    if officer.organisation_id is None:
        return []
    return list(
        db.session.execute(
            sa.select(CertificateApplication)
            .where(
                CertificateApplication.authority_id == officer.organisation_id,
                CertificateApplication.status.in_([ApplicationStatus.SUBMITTED, ApplicationStatus.ACCEPTED]),
            )
            .order_by(CertificateApplication.submitted_at)
        ).scalars()
    )


def deadline_of(application: CertificateApplication) -> dt.date | None:
    """The deadline that runs now: acceptance while submitted, decision once accepted."""
    if application.status is ApplicationStatus.SUBMITTED:
        return application.accept_by
    if application.status is ApplicationStatus.ACCEPTED:
        return application.decide_by
    return None


def deadline_state(application: CertificateApplication, today: dt.date) -> str:
    """ "overdue", "due_soon" (within CERT_DEADLINE_WARN_WORKING_DAYS working days) or "" for the running one."""
    deadline = deadline_of(application)
    if deadline is None:
        return ""
    if today > deadline:
        return "overdue"
    if working_days_after(today, int(current_app.config["CERT_DEADLINE_WARN_WORKING_DAYS"])) >= deadline:
        return "due_soon"
    return ""


def reviewable(officer: User, application_id: int) -> CertificateApplication:
    """An application of the officer's authority; another authority's is refused (audited)."""
    application = db.session.get(CertificateApplication, application_id)
    if application is None:
        raise NotFoundError(_("找不到该申请。"))
    if application.authority_id != officer.organisation_id:
        _audit(application, "certificate.application_foreign", officer.id)
        raise ApplicationError(_("该申请不属于您所在发证机关办理，不能审核。"))
    return application


def photo_key(application: CertificateApplication) -> str | None:
    """The view key of the applicant's reference photo (shown to officers through the photo grant), if any."""
    number = application.user.id_number
    photo = photos.reference_status(number).photo if number else None
    return photo.view_key if photo is not None else None


def _expect(application: CertificateApplication, *statuses: ApplicationStatus) -> None:
    if application.status not in statuses:
        raise ApplicationError(_("该申请当前状态为“%(status)s”，不能进行此操作。", status=application.status.label))


def _notify(application: CertificateApplication, subject: str, body: str) -> None:
    notify(user_id=application.user_id, kind=APPLICATION_NOTICE, subject=subject, body=body)


def accept(*, officer: User, application: CertificateApplication, now: dt.datetime | None = None) -> None:
    """Accept the application: the decision deadline starts (CERT_DECIDE_WORKING_DAYS working days)."""
    _expect(application, ApplicationStatus.SUBMITTED)
    now = now or utcnow()
    application.status = ApplicationStatus.ACCEPTED
    application.accepted_at = now
    days = int(current_app.config["CERT_DECIDE_WORKING_DAYS"])
    application.decide_by = working_days_after(local(now).date(), days)
    application.officer_id = officer.id
    _audit(application, "certificate.application_accepted", officer.id)
    _notify(
        application,
        _("发证申请已受理"),
        _(
            "您的“%(item)s”发证申请已受理，将于%(day)s前作出决定。",
            item=application.item.name,
            day=application.decide_by,
        ),
    )


def return_for_correction(*, officer: User, application: CertificateApplication, corrections: list[str]) -> None:
    """Return the application with one list of every correction needed."""
    _expect(application, ApplicationStatus.SUBMITTED)
    items = [c.strip() for c in corrections if c.strip()]
    if not items:
        raise ApplicationError.on_field(_("请逐条列出需要补正的全部内容。"), "corrections")
    application.status = ApplicationStatus.RETURNED
    application.corrections = "\n".join(items)
    application.officer_id = officer.id
    _audit(application, "certificate.application_returned", officer.id, {"corrections": str(len(items))})
    _notify(
        application,
        _("发证申请需要补正"),
        _("您的“%(item)s”发证申请需要补正：%(list)s", item=application.item.name, list="；".join(items)),
    )


def _second_approval(officer: User, application: CertificateApplication, now: dt.datetime) -> bool:
    """Four eyes: whether this is the second approval (by another officer); else record the first one."""
    if application.first_approved_by is None:
        first = rowcount(
            sa.update(CertificateApplication)
            .where(CertificateApplication.id == application.id, CertificateApplication.first_approved_by.is_(None))
            .values(first_approved_by=officer.id, first_approved_at=now)
        )
        db.session.refresh(application)
        if first:
            _audit(application, "certificate.application_first_approval", officer.id)
            return False
    if application.first_approved_by == officer.id:
        raise ApplicationError(_("已由您作出第一次批准，须由另一名审核人员进行第二次批准。"))
    return True


def approve(
    *, officer: User, application: CertificateApplication, six_years: bool = False, now: dt.datetime | None = None
) -> Certificate | None:
    """Approve: issue the certificate with the exam record (idempotent: a repeat returns the same certificate);
    a later matter (review, extension, reissue) is carried out on its certificate (renewal.approve_matter, where
    `six_years` applies the 6-year rule). With CERT_FOUR_EYES the first approval is only recorded (None) and another
    officer's second one decides."""
    if application.status is ApplicationStatus.APPROVED and application.certificate_id is not None:
        certificate = db.session.get(Certificate, application.certificate_id)
        if certificate is not None:
            return certificate
    _expect(application, ApplicationStatus.ACCEPTED)
    now = now or utcnow()
    if current_app.config["CERT_FOUR_EYES"] and not _second_approval(officer, application, now):
        return None
    if application.matter is not Matter.FIRST_ISSUE:
        return _approve_matter(officer, application, six_years, now)
    exams = passed_exams(user_id=application.user_id, item_id=application.item_id, on=local(now).date())
    if exams is None:
        raise ApplicationError(_("申请人的考试成绩已不在有效期内，不能批准，请作不予发证处理。"))
    issued = services.issue_certificate(
        user=application.user, item=application.item, exams=exams, actor_id=officer.id, now=now
    )
    # A conditional update: of concurrent approvals one changes the row, the others find it approved.
    changed = rowcount(
        sa.update(CertificateApplication)
        .where(CertificateApplication.id == application.id, CertificateApplication.status == ApplicationStatus.ACCEPTED)
        .values(
            status=ApplicationStatus.APPROVED,
            open_key=None,
            decided_at=now,
            officer_id=officer.id,
            certificate_id=issued.certificate.id,
        )
    )
    db.session.refresh(application)
    if changed:
        _audit(application, "certificate.application_approved", officer.id, {"certificate": issued.certificate.id})
        mail.queue_for_application(application, issued.certificate, now)
        _notify(
            application,
            _("证书已核发"),
            _("您的“%(item)s”证书已核发，可在“我的证书”查看和下载电子证书。", item=application.item.name),
        )
    return issued.certificate


def _approve_matter(
    officer: User, application: CertificateApplication, six_years: bool, now: dt.datetime
) -> Certificate:
    from opcert.certificates import renewal  # renewal builds on this module

    certificate = renewal.check_approval(officer=officer, application=application, six_years=six_years)
    locked = rowcount(
        sa.update(CertificateApplication)
        .where(CertificateApplication.id == application.id, CertificateApplication.status == ApplicationStatus.ACCEPTED)
        .values(status=ApplicationStatus.APPROVED, open_key=None, decided_at=now, officer_id=officer.id)
    )
    db.session.refresh(application)
    if not locked:  # a concurrent approval carried it out
        return certificate
    renewal.carry_out(officer=officer, application=application, certificate=certificate, six_years=six_years, now=now)
    _audit(application, "certificate.application_approved", officer.id, {"matter": application.matter.value})
    if application.matter in (Matter.REISSUE, Matter.EXTENSION):  # a new card (a review's is electronic only)
        mail.queue_for_application(application, certificate, now)
    _notify(
        application,
        _("%(matter)s已办结", matter=application.matter.label),
        _("您的“%(item)s”证书%(matter)s已获批准。", item=application.item.name, matter=application.matter.label),
    )
    return certificate


def refuse(*, officer: User, application: CertificateApplication, code: str, text: str) -> None:
    """Refuse with a reason code and its explanation."""
    _expect(application, ApplicationStatus.ACCEPTED)
    problems: dict[str, str] = {}
    if code not in REFUSAL_REASONS:
        problems["code"] = _("请选择不予发证的理由。")
    if not text.strip():
        problems["text"] = _("请写明不予发证的具体理由。")
    if problems:
        raise ApplicationError(" ".join(problems.values()), problems)
    application.status = ApplicationStatus.REFUSED
    application.open_key = None
    application.decided_at = utcnow()
    application.officer_id = officer.id
    application.refusal_code = code
    application.refusal_text = text.strip()
    _audit(application, "certificate.application_decided_refused", officer.id, {"reason": code})
    _notify(
        application,
        _("发证申请未获批准"),
        _(
            "您的“%(item)s”发证申请不予发证：%(reason)s。%(text)s",
            item=application.item.name,
            reason=REFUSAL_REASONS[code],
            text=application.refusal_text,
        ),
    )
