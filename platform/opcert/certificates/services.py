"""Issuing certificates and reading them: numbers, dates, the seal, status and its history.

Issuance is idempotent: the holder's record and each (holder, item) certificate are conditional inserts
(INSERT ... ON CONFLICT DO NOTHING on their unique keys), so double clicks, retries and concurrent approvals all
end with the one row the first of them inserted; only that one signs, audits and records the first status.
A certificate no longer in force (expired, revoked, cancelled) is issued again on the same row: the old period is
kept in certificate_periods, the row gets new dates and seal, and its history gains the new issue (the row is
locked first, so of concurrent approvals one issues and the others find it valid).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import selectinload

from opcert.accounts.idnumber import IdNumberError, parse_id_number
from opcert.accounts.models import User
from opcert.audit.services import record_event
from opcert.catalogue.models import Item
from opcert.certificates import payload, seal
from opcert.certificates.document import CertificateDocument
from opcert.certificates.models import (
    Certificate,
    CertificateEvent,
    CertificateHolder,
    CertificateStatus,
    EventKind,
)
from opcert.certificates.renewal_models import CertificatePeriod
from opcert.certificates.sanctions_models import CertificateSanction
from opcert.certificates.sources import ExamRecord
from opcert.db import utcnow
from opcert.errors import DomainError, NotFoundError
from opcert.extensions import db
from opcert.timeutil import local

FINAL_STATUSES = frozenset({CertificateStatus.REVOKED, CertificateStatus.CANCELLED})
# No longer in force: a new first-issue application may be made (once any bar is over) and issues again.
ENDED_STATUSES = FINAL_STATUSES | {CertificateStatus.EXPIRED}


class CertificateError(DomainError):
    """A certificate that cannot be issued or changed as asked."""


@dataclasses.dataclass(frozen=True)
class Issued:
    """The outcome of an issuance: the certificate, and whether this call created it."""

    certificate: Certificate
    created: bool


def certificate_number(id_number: str) -> str:
    """The certificate number: "T" followed by the holder's ID number."""
    return f"T{id_number}"


def add_years(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` later (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def insert_once(model: type[Any], values: dict[str, Any]) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; whether a row was inserted (a concurrent insert waits for ours)."""
    dialect = db.session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(model).values(**values).on_conflict_do_nothing().returning(model.id)
    return db.session.execute(statement).scalar() is not None


def _holder_for(user: User, today: dt.date) -> CertificateHolder:
    if not user.id_number:
        raise CertificateError(_("只有以居民身份证号码注册的学员才能取得证书。"))
    try:
        parsed = parse_id_number(user.id_number, today=today)
    except IdNumberError as exc:
        raise CertificateError(str(exc.message)) from None
    insert_once(
        CertificateHolder,
        {
            "number": certificate_number(parsed.number),
            "user_id": user.id,
            "id_number": parsed.number,
            "name": user.real_name,
            "sex": parsed.sex,
            "created_at": utcnow(),
        },
    )
    holder = db.session.execute(sa.select(CertificateHolder).where(CertificateHolder.user_id == user.id)).scalar()
    if holder is None:  # the number or ID number belongs to another account's record
        raise CertificateError(_("该身份证号码已有另一账号的证书档案，请联系发证机关。"))
    return holder


def claims_of(certificate: Certificate) -> payload.CertificateClaims:
    """What the certificate's QR code says: its data as of issue."""
    item = certificate.item
    return payload.CertificateClaims(
        number=certificate.holder.number,
        name=certificate.holder.name,
        sex=certificate.holder.sex,
        category=item.category.name,
        item_code=item.code,
        item_name=item.name,
        first_issued_on=certificate.first_issued_on,
        valid_until=certificate.valid_until,
        review_due_on=certificate.review_due_on,
        status=CertificateStatus.VALID,
        issued_at=certificate.issued_at,
        status_index=certificate.id,
        authority=certificate.authority,
    )


def reseal(certificate: Certificate, keyring: seal.Keyring | None = None) -> None:
    """Seal the certificate's QR payload (anew after its dates change) with the key in force."""
    wire = payload.seal_claims(claims_of(certificate), keyring=keyring or seal.load_keyring())
    certificate.sealed = wire
    certificate.seal_alg = seal.ALGORITHMS_BY_CODE[wire[1]].value
    certificate.seal_kid = wire[3 : 3 + wire[2]].decode("ascii")


def issue_certificate(
    *, user: User, item: Item, exams: ExamRecord | None, actor_id: int | None, now: dt.datetime | None = None
) -> Issued:
    """Issue the person's certificate for the item, or return the one already issued (idempotent)."""
    keyring = seal.load_keyring()  # first: a key created on first use is then in force at `now`
    now = (now or utcnow()).replace(microsecond=0)
    today = local(now).date()
    holder = _holder_for(user, today)
    config = current_app.config
    created = insert_once(
        Certificate,
        {
            "holder_id": holder.id,
            "item_id": item.id,
            "first_issued_on": today,
            "valid_until": add_years(today, int(config["CERT_VALID_YEARS"])),
            "review_due_on": add_years(today, int(config["CERT_REVIEW_YEARS"])),
            "status": CertificateStatus.VALID,
            "status_reason": "",
            "status_on": today,
            "authority": str(config["CERT_AUTHORITY_NAME"]),
            "issued_at": now,
            "theory_score": exams.theory_score if exams else None,
            "theory_date": exams.theory_date if exams else None,
            "practical_score": exams.practical_score if exams else None,
            "practical_date": exams.practical_date if exams else None,
            "theory_session_id": exams.theory_session_id if exams else None,
            "practical_session_id": exams.practical_session_id if exams else None,
            "seal_alg": "",
            "seal_kid": "",
        },
    )
    certificate = db.session.execute(
        sa.select(Certificate)
        .where(Certificate.holder_id == holder.id, Certificate.item_id == item.id)
        .execution_options(populate_existing=True)
    ).scalar_one()
    if not created:
        again = status_on(certificate, today) in ENDED_STATUSES and _issue_again(
            certificate, exams=exams, actor_id=actor_id, now=now, keyring=keyring
        )
        return Issued(certificate, created=again)
    reseal(certificate, keyring)
    db.session.add(
        CertificateEvent(
            certificate=certificate,
            status=CertificateStatus.VALID,
            reason=_("首次发证"),
            on=today,
            at=now,
            actor_id=actor_id,
        )
    )
    record_event(
        "certificate.issued",
        object_type="certificate",
        object_id=holder.number,
        details={"item": item.code, "kid": certificate.seal_kid},
        actor_id=actor_id,
    )
    db.session.flush()
    return Issued(certificate, created=True)


def keep_period(certificate: Certificate, now: dt.datetime) -> None:
    """Keep the certificate's current period (dates, seal) in its history before a new one replaces it (an
    extension, or a new issue after the certificate ended)."""
    db.session.add(
        CertificatePeriod(
            certificate_id=certificate.id,
            issued_at=certificate.issued_at,
            valid_until=certificate.valid_until,
            review_due_on=certificate.review_due_on,
            sealed=certificate.sealed,
            seal_kid=certificate.seal_kid,
            ended_at=now,
        )
    )


def _issue_again(
    certificate: Certificate, *, exams: ExamRecord | None, actor_id: int | None, now: dt.datetime, keyring: seal.Keyring
) -> bool:
    """Issue anew on the same row a certificate no longer in force; False when a concurrent issue did it first."""
    db.session.execute(
        sa.select(Certificate)
        .where(Certificate.id == certificate.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    today = local(now).date()
    before = status_on(certificate, today)
    if before not in ENDED_STATUSES:
        return False
    keep_period(certificate, now)
    config = current_app.config
    certificate.first_issued_on, certificate.issued_at = today, now
    certificate.valid_until = add_years(today, int(config["CERT_VALID_YEARS"]))
    certificate.review_due_on = add_years(today, int(config["CERT_REVIEW_YEARS"]))
    certificate.status, certificate.status_reason, certificate.status_on = CertificateStatus.VALID, "", today
    certificate.authority = str(config["CERT_AUTHORITY_NAME"])
    certificate.theory_score = exams.theory_score if exams else None
    certificate.theory_date = exams.theory_date if exams else None
    certificate.practical_score = exams.practical_score if exams else None
    certificate.practical_date = exams.practical_date if exams else None
    certificate.theory_session_id = exams.theory_session_id if exams else None
    certificate.practical_session_id = exams.practical_session_id if exams else None
    reseal(certificate, keyring)
    reason = _("重新发证（原证书%(status)s）", status=before.label)
    db.session.add(
        CertificateEvent(
            certificate=certificate, status=CertificateStatus.VALID, reason=reason, on=today, at=now, actor_id=actor_id
        )
    )
    record_event(
        "certificate.issued_again",
        object_type="certificate",
        object_id=certificate.holder.number,
        details={"item": certificate.item.code, "kid": certificate.seal_kid, "from": before.value},
        actor_id=actor_id,
    )
    db.session.flush()
    return True


def in_force(certificate: Certificate, day: dt.date) -> bool:
    """Whether the certificate is still in force on `day` (valid, review due or suspended): it blocks a new
    first-issue application for its item."""
    return status_on(certificate, day) not in ENDED_STATUSES


def _with_everything() -> sa.Select[tuple[Certificate]]:
    return sa.select(Certificate).options(
        selectinload(Certificate.holder), selectinload(Certificate.item), selectinload(Certificate.events)
    )


def find_holder(number: str) -> CertificateHolder | None:
    """The holder record with this certificate number, or None."""
    return db.session.execute(
        sa.select(CertificateHolder).where(CertificateHolder.number == number.strip().upper())
    ).scalar()


def get_certificate(certificate_id: int) -> Certificate:
    """The certificate with this id; NotFoundError otherwise."""
    found = db.session.execute(_with_everything().where(Certificate.id == certificate_id)).scalar()
    if found is None:
        raise NotFoundError(_("证书不存在。"))
    return found


def holder_certificates(user_id: int) -> list[Certificate]:
    """The person's certificates, oldest first."""
    return list(
        db.session.execute(
            _with_everything()
            .join(Certificate.holder)
            .where(CertificateHolder.user_id == user_id)
            .order_by(Certificate.id)
        ).scalars()
    )


def list_certificates() -> list[Certificate]:
    """Every certificate, by number then item."""
    return list(
        db.session.execute(
            _with_everything().join(Certificate.holder).order_by(CertificateHolder.number, Certificate.item_id)
        ).scalars()
    )


def suspension_last_day(certificate: Certificate) -> dt.date | None:
    """The last day of the suspension in force (the `until` of the sanction that suspended it), or None."""
    if certificate.status is not CertificateStatus.SUSPENDED:
        return None
    suspended = [e for e in certificate.events if e.status is CertificateStatus.SUSPENDED]
    if not suspended or suspended[-1].id is None:
        return None
    return db.session.execute(
        sa.select(CertificateSanction.until).where(CertificateSanction.event_id == suspended[-1].id)
    ).scalar()


def status_on(certificate: Certificate, day: dt.date) -> CertificateStatus:
    """The status on `day`: suspended (up to the suspension's last day), revoked, cancelled and expired as recorded;
    else expired after the validity period and review due from the review date, even before the daily command has
    recorded it."""
    if certificate.status is CertificateStatus.SUSPENDED:
        last_day = suspension_last_day(certificate)
        if last_day is None or day <= last_day:
            return certificate.status
    elif certificate.status not in (CertificateStatus.VALID, CertificateStatus.REVIEW_DUE):
        return certificate.status
    if day >= certificate.valid_until:
        return CertificateStatus.EXPIRED
    if day >= certificate.review_due_on:
        return CertificateStatus.REVIEW_DUE
    return CertificateStatus.VALID


def visible_certificate(viewer: User, certificate_id: int) -> Certificate:
    """A certificate the viewer may open: a trainee only their own (another's is 404), officers and admins any."""
    from opcert.access import Role

    certificate = get_certificate(certificate_id)
    if viewer.role is Role.TRAINEE and certificate.holder.user_id != viewer.id:
        raise NotFoundError(_("证书不存在。"))
    return certificate


def photo_for(id_number: str) -> bytes | None:
    """The certificate photo cropped from the person's library photo, or None when there is none."""
    from photos import services as photos

    try:
        return photos.certificate_photo(id_number)
    except photos.NoReferencePhotoError:
        return None


def document_for(certificate: Certificate, *, today: dt.date, with_photo: bool = True) -> CertificateDocument:
    """What the certificate shows today: its fields, today's status, the photo cropped from the library photo."""
    holder, item = certificate.holder, certificate.item
    renewals = (EventKind.REVIEW, EventKind.EXTENSION)
    since = certificate.first_issued_on  # a certificate issued again shows only its own reviews
    reviews = [(e.on, e.reason) for e in certificate.events if e.kind in renewals and e.on >= since]
    if certificate.sealed is None:
        raise CertificateError(_("证书尚未加盖电子印章。"))
    return CertificateDocument(
        number=holder.number,
        name=holder.name,
        sex=holder.sex,
        id_number=holder.id_number,
        category=item.category.name,
        item=f"{item.code} {item.name}",
        first_issued_on=certificate.first_issued_on,
        valid_until=certificate.valid_until,
        review_due_on=certificate.review_due_on,
        status=str(status_on(certificate, today).label),
        status_reason=certificate.status_reason,
        authority=certificate.authority,
        issued_on=local(certificate.issued_at).date(),
        reviews=reviews,
        photo_jpeg=photo_for(holder.id_number) if with_photo else None,
        sealed=certificate.sealed,
        seal_kid=certificate.seal_kid,
        seal_alg=certificate.seal_alg,
    )


# --- the status life ---------------------------------------------------------------------------------

TRANSITIONS: dict[CertificateStatus, frozenset[CertificateStatus]] = {
    CertificateStatus.VALID: frozenset(
        {
            CertificateStatus.REVIEW_DUE,
            CertificateStatus.SUSPENDED,
            CertificateStatus.EXPIRED,
            CertificateStatus.REVOKED,
            CertificateStatus.CANCELLED,
        }
    ),
    CertificateStatus.REVIEW_DUE: frozenset(
        {
            CertificateStatus.VALID,
            CertificateStatus.SUSPENDED,
            CertificateStatus.EXPIRED,
            CertificateStatus.REVOKED,
            CertificateStatus.CANCELLED,
        }
    ),
    CertificateStatus.SUSPENDED: frozenset(
        {
            CertificateStatus.VALID,
            CertificateStatus.REVIEW_DUE,  # a suspension lifted after the review date
            CertificateStatus.EXPIRED,
            CertificateStatus.REVOKED,
            CertificateStatus.CANCELLED,
        }
    ),
    # An expired certificate may still be revoked (expired without extension, or found obtained by fraud: the bar).
    CertificateStatus.EXPIRED: frozenset({CertificateStatus.REVOKED, CertificateStatus.CANCELLED}),
    CertificateStatus.REVOKED: frozenset({CertificateStatus.CANCELLED}),
    CertificateStatus.CANCELLED: frozenset(),
}
NEEDS_REASON = frozenset({CertificateStatus.SUSPENDED, CertificateStatus.REVOKED, CertificateStatus.CANCELLED})


def change_status(
    *,
    certificate: Certificate,
    status: CertificateStatus,
    reason: str,
    actor_id: int | None,
    now: dt.datetime | None = None,
) -> CertificateEvent:
    """Move a certificate to `status` with its reason and date, appending to its history (refused if illegal)."""
    now = now or utcnow()
    reason = reason.strip()
    if status not in TRANSITIONS[certificate.status]:
        raise CertificateError.on_field(
            _("证书当前为“%(current)s”，不能改为“%(target)s”。", current=certificate.status.label, target=status.label),
            "status",
        )
    if status in NEEDS_REASON and not reason:
        raise CertificateError.on_field(_("请写明原因和法律依据。"), "reason")
    before = certificate.status
    today = local(now).date()
    certificate.status, certificate.status_reason, certificate.status_on = status, reason[:200], today
    event = CertificateEvent(
        certificate=certificate, status=status, reason=reason[:200], on=today, at=now, actor_id=actor_id
    )
    db.session.add(event)
    record_event(
        "certificate.status_changed",
        object_type="certificate",
        object_id=certificate.holder.number,
        details={"item": certificate.item.code, "from": before.value, "to": status.value},
        actor_id=actor_id,
    )
    db.session.flush()
    return event


def record_calendar_statuses(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The daily command: record "review due" and "expired" on the day they fall (in the deployment's zone)."""
    now = now or utcnow()
    today = local(now).date()
    counts = {CertificateStatus.REVIEW_DUE.value: 0, CertificateStatus.EXPIRED.value: 0}
    reasons = {CertificateStatus.REVIEW_DUE: _("到期应复审"), CertificateStatus.EXPIRED: _("有效期届满")}
    live = (CertificateStatus.VALID, CertificateStatus.REVIEW_DUE, CertificateStatus.SUSPENDED)
    rows = db.session.execute(_with_everything().where(Certificate.status.in_(live)).with_for_update()).scalars()
    for certificate in rows:
        target = status_on(certificate, today)
        if certificate.status is CertificateStatus.SUSPENDED and today >= certificate.valid_until:
            target = CertificateStatus.EXPIRED
        if target in reasons and target is not certificate.status:
            change_status(certificate=certificate, status=target, reason=str(reasons[target]), actor_id=None, now=now)
            counts[target.value] += 1
    return counts
