"""The mailed card (邮寄): queued when a certificate asked for by mail is issued (or reissued); officers of the issuing
authority pack it, record the courier and tracking number, and mark it delivered or returned; the holder is told
at each step (in-app now, outside delivery after the commit) and sees the tracking number on their pages.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from opcert.accounts.models import User
from opcert.audit.services import record_event
from opcert.certificates.applications_models import CertificateApplication, Delivery
from opcert.certificates.models import Certificate
from opcert.certificates.service_models import Mailing, MailingStatus
from opcert.db import utcnow
from opcert.errors import DomainError, NotFoundError
from opcert.extensions import db
from opcert.notifications.kinds import register_kinds
from opcert.notifications.services import notify

MAIL_NOTICE = "certificate_mail"
register_kinds({MAIL_NOTICE: _l("证卡邮寄")})


class MailError(DomainError):
    """A mailing step that cannot be done as asked."""


@dataclasses.dataclass(frozen=True)
class Courier:
    """A courier the authority mails with, and the form of its tracking numbers."""

    label: LazyString
    pattern: re.Pattern[str]
    hint: LazyString


COURIERS = {
    "ems": Courier(
        _l("中国邮政EMS"),
        re.compile(r"[A-Z]{2}\d{9}[A-Z]{2}|1\d{12}"),
        _l("EMS单号为13位：2个字母、9位数字（末位为校验位）、2个字母（如EA123456785CN），或以1开头的13位数字。"),
    ),
    "sf": Courier(_l("顺丰速运"), re.compile(r"SF\d{12,13}"), _l("顺丰单号为“SF”加12至13位数字。")),
    "jd": Courier(_l("京东物流"), re.compile(r"JD[0-9A-Z]{13,15}"), _l("京东单号为“JD”加13至15位数字或字母。")),
    "zto": Courier(_l("中通快递"), re.compile(r"\d{12,15}"), _l("中通单号为12至15位数字。")),
    "yto": Courier(_l("圆通速递"), re.compile(r"YT\d{13,15}"), _l("圆通单号为“YT”加13至15位数字。")),
}
S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
NEXT_STEPS = {
    MailingStatus.QUEUED: frozenset({MailingStatus.SENT}),
    MailingStatus.SENT: frozenset({MailingStatus.DELIVERED, MailingStatus.RETURNED}),
    MailingStatus.DELIVERED: frozenset(),
    MailingStatus.RETURNED: frozenset(),
}
MATTER_LABELS = {"first_issue": _l("首次发证"), "reissue": _l("补证"), "extension": _l("延期换证")}


def _s10_check_digit_ok(number: str) -> bool:
    """UPU S10 (EMS, registered post): the ninth digit is the check digit of the first eight."""
    digits = [int(d) for d in number[2:10]]
    rest = 11 - sum(d * w for d, w in zip(digits, S10_WEIGHTS, strict=True)) % 11
    check = {10: 0, 11: 5}.get(rest, rest)
    return int(number[10]) == check


def normalise_tracking(courier: str, tracking: str) -> str:
    """The tracking number in its stored form (upper case, no spaces); MailError with the courier's format."""
    if courier not in COURIERS:
        raise MailError.on_field(_("请选择快递公司。"), "courier")
    number = re.sub(r"[\s-]", "", tracking).upper()
    rule = COURIERS[courier]
    if not number:
        raise MailError.on_field(_("请填写运单号。"), "tracking_number")
    valid = rule.pattern.fullmatch(number) is not None
    if valid and courier == "ems" and number[0].isalpha():
        valid = _s10_check_digit_ok(number)
    if not valid:
        raise MailError.on_field(
            _("运单号“%(number)s”格式不正确。%(hint)s", number=number[:40], hint=rule.hint), "tracking_number"
        )
    return number


def _audit(mailing: Mailing, action: str, actor_id: int | None, details: dict[str, str] | None = None) -> None:
    record_event(action, object_type="mailing", object_id=mailing.id, details=details, actor_id=actor_id)


def _tell_holder(mailing: Mailing, subject: str, body: str) -> None:
    notify(user_id=mailing.user_id, kind=MAIL_NOTICE, subject=subject, body=body)


def queue_mailing(
    *,
    certificate: Certificate,
    user_id: int,
    authority_id: int,
    matter: str,
    source: str,
    address: str,
    recipient: str,
    phone: str,
    now: dt.datetime | None = None,
) -> Mailing:
    """Queue the card for mailing (idempotent per `source`: a repeat returns the queued one)."""
    existing = db.session.execute(sa.select(Mailing).where(Mailing.source == source)).scalar()
    if existing is not None:
        return existing
    if not (address.strip() and recipient.strip() and phone.strip()):
        raise MailError(_("邮寄地址、收件人和电话须填写完整，才能邮寄证卡。"))
    mailing = Mailing(
        source=source,
        matter=matter,
        certificate_id=certificate.id,
        user_id=user_id,
        authority_id=authority_id,
        status=MailingStatus.QUEUED,
        address=address.strip(),
        recipient=recipient.strip(),
        phone=phone.strip(),
        queued_at=now or utcnow(),
    )
    db.session.add(mailing)
    db.session.flush()
    _audit(mailing, "certificate.mail_queued", None, {"item": certificate.item.code})
    _tell_holder(
        mailing,
        _("证卡待邮寄"),
        _("您的“%(item)s”实体证卡已进入邮寄队列，寄出后将告知运单号。", item=certificate.item.name),
    )
    return mailing


def queue_for_application(
    application: CertificateApplication, certificate: Certificate, now: dt.datetime | None = None
) -> Mailing | None:
    """The one call when a card is issued (first issue, reissue, extension): queue it when the application asked
    for it by mail."""
    if application.delivery is not Delivery.MAIL:
        return None
    return queue_mailing(
        certificate=certificate,
        user_id=application.user_id,
        authority_id=application.authority_id,
        matter=application.matter.value,
        source=f"application:{application.id}",
        address=application.mail_address,
        recipient=application.mail_recipient,
        phone=application.mail_phone,
        now=now,
    )


def mail_queue(officer: User, status: MailingStatus | None = None) -> list[Mailing]:
    """The mailings of the officer's authority (one status, or those still to finish first), oldest first."""
    if officer.organisation_id is None:
        return []
    query = sa.select(Mailing).where(Mailing.authority_id == officer.organisation_id)
    if status is None:
        query = query.where(Mailing.status.in_([MailingStatus.QUEUED, MailingStatus.SENT]))
    else:
        query = query.where(Mailing.status == status)
    return list(db.session.execute(query.order_by(Mailing.queued_at, Mailing.id)).scalars())


def managed_mailing(officer: User, mailing_id: int) -> Mailing:
    """A mailing of the officer's authority, locked for the step (concurrent steps wait, then see its new status);
    NotFoundError for an unknown one, another authority's refused (audited)."""
    mailing = db.session.get(Mailing, mailing_id, with_for_update=True, populate_existing=True)
    if mailing is None:
        raise NotFoundError(_("找不到该邮寄件。"))
    if mailing.authority_id != officer.organisation_id:
        _audit(mailing, "certificate.mail_foreign", officer.id)
        raise MailError(_("该邮寄件不属于您所在发证机关，不能办理。"))
    return mailing


def _move(officer: User, mailing: Mailing, target: MailingStatus) -> None:
    if target not in NEXT_STEPS[mailing.status]:
        raise MailError(
            _(
                "该邮寄件当前为“%(current)s”，不能标记为“%(target)s”。",
                current=mailing.status.label,
                target=target.label,
            )
        )
    mailing.status = target
    mailing.officer_id = officer.id


def mark_sent(
    *, officer: User, mailing: Mailing, courier: str, tracking_number: str, now: dt.datetime | None = None
) -> Mailing:
    """Record the courier and the (checked) tracking number: the card is on its way."""
    number = normalise_tracking(courier, tracking_number)
    _move(officer, mailing, MailingStatus.SENT)
    mailing.courier, mailing.tracking_number, mailing.sent_at = courier, number, now or utcnow()
    _audit(mailing, "certificate.mail_sent", officer.id, {"courier": courier, "tracking": number})
    _tell_holder(
        mailing,
        _("证卡已寄出"),
        _(
            "您的“%(item)s”实体证卡已由%(courier)s寄出，运单号%(number)s。",
            item=mailing.item.name,
            courier=COURIERS[courier].label,
            number=number,
        ),
    )
    return mailing


def mark_delivered(*, officer: User, mailing: Mailing, now: dt.datetime | None = None) -> Mailing:
    """The card was signed for: the mailing matter is completed (and may be rated)."""
    _move(officer, mailing, MailingStatus.DELIVERED)
    mailing.closed_at = now or utcnow()
    _audit(mailing, "certificate.mail_delivered", officer.id)
    _tell_holder(
        mailing,
        _("证卡已签收"),
        _("您的“%(item)s”实体证卡已签收。欢迎对本次办理服务进行评价。", item=mailing.item.name),
    )
    return mailing


def mark_returned(*, officer: User, mailing: Mailing, reason: str, now: dt.datetime | None = None) -> Mailing:
    """The card came back (wrong address, refused, unreachable): recorded with the reason; the holder is told."""
    reason = reason.strip()
    if not reason:
        raise MailError.on_field(_("请写明退回原因。"), "reason")
    if len(reason) > 200:
        raise MailError.on_field(_("退回原因不能超过200字。"), "reason")
    _move(officer, mailing, MailingStatus.RETURNED)
    mailing.closed_at, mailing.return_reason = now or utcnow(), reason
    _audit(mailing, "certificate.mail_returned", officer.id, {"reason": reason})
    _tell_holder(
        mailing,
        _("证卡被退回"),
        _(
            "您的“%(item)s”实体证卡被退回：%(reason)s。请联系发证机关更正邮寄信息，电子证书不受影响。",
            item=mailing.item.name,
            reason=reason,
        ),
    )
    return mailing


def own_mailing(holder: User, mailing_id: int) -> Mailing:
    """One of the person's mailings (NotFoundError for anyone else's)."""
    mailing = db.session.get(Mailing, mailing_id)
    if mailing is None or mailing.user_id != holder.id:
        raise NotFoundError(_("找不到该邮寄件。"))
    return mailing


def readdress(
    *, holder: User, mailing: Mailing, address: str, recipient: str, phone: str, now: dt.datetime | None = None
) -> Mailing:
    """The holder corrects the address of a returned card: it joins the queue again (the old tracking number stays
    in the audit log)."""
    from opcert.certificates import applications  # the application's own rule for a mailing address

    if mailing.status is not MailingStatus.RETURNED:
        raise MailError(_("只有被退回的证卡才能更正地址后重新邮寄。"))
    given = applications.MailAddress(address=address, recipient=recipient, phone=phone)
    problems = applications.mail_problems(Delivery.MAIL, given)
    if problems:
        raise MailError(" ".join(problems.values()), problems)
    mailing.address, mailing.recipient, mailing.phone = address.strip(), recipient.strip(), phone.strip()
    mailing.status, mailing.queued_at = MailingStatus.QUEUED, now or utcnow()
    mailing.courier = mailing.tracking_number = mailing.return_reason = ""
    mailing.sent_at = mailing.closed_at = None
    _audit(mailing, "certificate.mail_readdressed", holder.id)
    return mailing


def my_mailings(user_id: int) -> list[Mailing]:
    """The person's mailings, newest first."""
    return list(
        db.session.execute(sa.select(Mailing).where(Mailing.user_id == user_id).order_by(Mailing.id.desc())).scalars()
    )
