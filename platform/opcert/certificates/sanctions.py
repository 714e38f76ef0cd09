"""Suspension (暂扣), lifting it, revocation (撤销) and cancellation (注销) of certificates, by the officers of the
authority that issued them; the bar on a new application; the public list of revocations and cancellations.

Every sanction names a legal ground from a fixed list and an explanation; it changes the status through
services.change_status (so public verification shows it at once and the next status list has the bit) and keeps
its legal record (CertificateSanction). A ground that carries a bar (false information, a false commitment,
fraud or bribery) refuses a new application for the item for CERT_REAPPLY_BAR_YEARS years from the revocation
(submit_application asks `reapplication_bar`). Refusals are checked before anything changes, and audited; the
holder is notified (delivered after the commit).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from opcert.accounts.models import Organisation, OrgKind, User
from opcert.audit.services import record_event
from opcert.catalogue.models import Item
from opcert.certificates import services
from opcert.certificates.applications_models import CertificateApplication
from opcert.certificates.models import Certificate, CertificateHolder, CertificateStatus
from opcert.certificates.public import mask_name, mask_number
from opcert.certificates.sanctions_models import GROUNDS, CancellationRequest, CertificateSanction, SanctionKind
from opcert.db import Page, paginate, utcnow
from opcert.errors import DomainError, NotFoundError
from opcert.extensions import db
from opcert.notifications.kinds import register_kinds
from opcert.notifications.services import notify
from opcert.timeutil import local

STATUS_NOTICE = "certificate_status"
register_kinds({STATUS_NOTICE: _l("证书状态变更")})
SEARCH_LIMIT = 50
PUBLISHED = (SanctionKind.REVOKE, SanctionKind.CANCEL)
TARGETS = {
    SanctionKind.SUSPEND: CertificateStatus.SUSPENDED,
    SanctionKind.REVOKE: CertificateStatus.REVOKED,
    SanctionKind.CANCEL: CertificateStatus.CANCELLED,
}


class SanctionError(DomainError):
    """A sanction that cannot be applied as asked."""


def _audit(action: str, certificate: Certificate, actor_id: int, details: dict[str, str]) -> None:
    record_event(
        action, object_type="certificate", object_id=certificate.holder.number, details=details, actor_id=actor_id
    )


def sanction_kind(value: str) -> SanctionKind:
    """The kind of sanction named in an address; NotFoundError for any other word."""
    try:
        return SanctionKind(value)
    except ValueError:
        raise NotFoundError(_("页面不存在")) from None


def ground_choices(kind: SanctionKind) -> list[tuple[str, str]]:
    """The legal grounds of a kind of sanction, as (code, name) pairs."""
    return [(code, str(ground.label)) for code, ground in GROUNDS[kind].items()]


def _officer_authority(officer: User) -> Organisation | None:
    org = db.session.get(Organisation, officer.organisation_id) if officer.organisation_id else None
    return org if org is not None and org.kind is OrgKind.AUTHORITY else None


def _of_authority(org: Organisation) -> sa.ColumnElement[bool]:
    """Certificates the authority issued: approved on one of its applications, or bearing its name."""
    approved_here = sa.select(CertificateApplication.certificate_id).where(
        CertificateApplication.authority_id == org.id, CertificateApplication.certificate_id.is_not(None)
    )
    return sa.or_(Certificate.id.in_(approved_here), Certificate.authority == org.name)


def _query() -> sa.Select[tuple[Certificate]]:
    return sa.select(Certificate).options(
        selectinload(Certificate.holder), selectinload(Certificate.item), selectinload(Certificate.events)
    )


def find_certificates(*, officer: User, query: str) -> list[Certificate]:
    """The officer's authority's certificates whose number, ID number or holder's name matches `query`."""
    org = _officer_authority(officer)
    text = query.strip()
    if org is None or not text:
        return []
    number = text.upper()
    match = sa.or_(
        CertificateHolder.number == number,
        CertificateHolder.id_number == number,
        CertificateHolder.name == text,
        CertificateHolder.name.contains(text, autoescape=True),
    )
    return list(
        db.session.execute(
            _query()
            .join(Certificate.holder)
            .where(match, _of_authority(org))
            .order_by(CertificateHolder.number, Certificate.item_id)
            .limit(SEARCH_LIMIT)
        ).scalars()
    )


def managed_certificate(*, officer: User, certificate_id: int) -> Certificate:
    """A certificate the officer's authority issued; NotFoundError for any other (another's is audited)."""
    certificate = db.session.execute(_query().where(Certificate.id == certificate_id)).scalar()
    if certificate is None:
        raise NotFoundError(_("证书不存在。"))
    org = _officer_authority(officer)
    mine = (
        org is not None
        and db.session.execute(
            sa.select(sa.literal(True)).where(Certificate.id == certificate_id, _of_authority(org))
        ).scalar()
    )
    if not mine:
        _audit("certificate.sanction_foreign", certificate, officer.id, {"item": certificate.item.code})
        raise NotFoundError(_("证书不存在。"))
    return certificate


def available_actions(certificate: Certificate) -> list[SanctionKind]:
    """The sanctions the certificate's status allows now."""
    return [
        kind
        for kind in SanctionKind
        if (
            certificate.status is CertificateStatus.SUSPENDED
            if kind is SanctionKind.LIFT
            else TARGETS[kind] in services.TRANSITIONS[certificate.status]
        )
    ]


def sanctions_of(certificate: Certificate) -> list[CertificateSanction]:
    """The certificate's sanctions, oldest first."""
    return list(
        db.session.execute(
            sa.select(CertificateSanction)
            .where(CertificateSanction.certificate_id == certificate.id)
            .order_by(CertificateSanction.id)
        ).scalars()
    )


def _refuse(officer: User, certificate: Certificate, kind: SanctionKind, code: str, message: str) -> SanctionError:
    _audit(
        "certificate.sanction_refused",
        certificate,
        officer.id,
        {"kind": kind.value, "reason": code, "status": certificate.status.value},
    )
    return SanctionError(message, {"": message})


def _lift_target(certificate: Certificate, today: dt.date) -> CertificateStatus:
    if today >= certificate.valid_until:
        return CertificateStatus.EXPIRED
    if today >= certificate.review_due_on:
        return CertificateStatus.REVIEW_DUE
    return CertificateStatus.VALID


def apply_sanction(
    *,
    officer: User,
    certificate: Certificate,
    kind: SanctionKind,
    ground: str,
    text: str,
    until: dt.date | None = None,
    now: dt.datetime | None = None,
) -> CertificateSanction:
    """Suspend (until a date), lift a suspension, revoke or cancel, on a legal ground with its explanation."""
    now = now or utcnow()
    today = local(now).date()
    text = text.strip()
    problems: dict[str, str] = {}
    grounds = GROUNDS[kind]
    if ground not in grounds:
        problems["ground"] = _("请选择法律依据。")
    if not text:
        problems["text"] = _("请写明具体事实和理由。")
    if kind is SanctionKind.SUSPEND and (until is None or until <= today):
        problems["until"] = _("请填写暂扣截止日期（须晚于今天）。")
    if problems:
        raise SanctionError(" ".join(problems.values()), problems)
    # The row locked and read afresh: of two officers acting at once, the second sees the first one's status.
    db.session.execute(
        sa.select(Certificate)
        .where(Certificate.id == certificate.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    current = certificate.status
    if kind is SanctionKind.LIFT:
        if current is not CertificateStatus.SUSPENDED:
            raise _refuse(
                officer,
                certificate,
                kind,
                "not_suspended",
                _("证书当前为“%(status)s”，没有可解除的暂扣。", status=current.label),
            )
        target = _lift_target(certificate, today)
    else:
        target = TARGETS[kind]
        if target not in services.TRANSITIONS[current]:
            raise _refuse(
                officer,
                certificate,
                kind,
                "transition",
                _("证书当前为“%(current)s”，不能%(action)s。", current=current.label, action=kind.label),
            )
    only_from = grounds[ground].only_from
    if (
        only_from is not None
        and current not in only_from
        and not (CertificateStatus.EXPIRED in only_from and today >= certificate.valid_until)
    ):
        raise _refuse(
            officer,
            certificate,
            kind,
            "ground",
            _(
                "证书当前为“%(status)s”，不适用“%(ground)s”这一依据。",
                status=current.label,
                ground=grounds[ground].label,
            ),
        )
    label = str(grounds[ground].label)
    reason = f"{kind.label}：{label}"
    if until is not None and kind is SanctionKind.SUSPEND:
        reason += _("（暂扣至%(day)s）", day=until.isoformat())
    event = services.change_status(
        certificate=certificate, status=target, reason=f"{reason}。{text}"[:200], actor_id=officer.id, now=now
    )
    bars = grounds[ground].bars
    sanction = CertificateSanction(
        certificate=certificate,
        event=event,
        kind=kind,
        ground=ground,
        text=text[:500],
        on=today,
        until=until if kind is SanctionKind.SUSPEND else None,
        bars_until=services.add_years(today, int(current_app.config["CERT_REAPPLY_BAR_YEARS"])) if bars else None,
        officer_id=officer.id,
        at=now,
    )
    db.session.add(sanction)
    db.session.flush()
    details = {"kind": kind.value, "reason": ground}
    if sanction.until:
        details["until"] = sanction.until.isoformat()
    if sanction.bars_until:
        details["bars_until"] = sanction.bars_until.isoformat()
    _audit("certificate.sanctioned", certificate, officer.id, details)
    if kind is SanctionKind.CANCEL and (asked := open_request(certificate.id)) is not None:
        asked.open_key, asked.closed_at, asked.sanction_id = None, now, sanction.id
    _notify_holder(certificate, sanction, reason)
    return sanction


def end_lapsed_suspensions(*, now: dt.datetime | None = None) -> int:
    """The daily command: a suspension whose last day has passed ends by itself (valid again, or review due; one
    past the validity period is left to expire), with its status event, a lifting sanction, an audit row and a
    notice; how many ended."""
    now = now or utcnow()
    today = local(now).date()
    query = _query().where(Certificate.status == CertificateStatus.SUSPENDED).order_by(Certificate.id)
    ended = 0
    for certificate in db.session.execute(query.with_for_update()).scalars():
        target = services.status_on(certificate, today)
        if target in (CertificateStatus.SUSPENDED, CertificateStatus.EXPIRED):
            continue
        last_day = services.suspension_last_day(certificate)
        reason = _("暂扣期满，自动恢复")
        event = services.change_status(certificate=certificate, status=target, reason=reason, actor_id=None, now=now)
        db.session.add(
            CertificateSanction(
                certificate=certificate,
                event=event,
                kind=SanctionKind.LIFT,
                ground="period_ended",
                text=reason,
                on=today,
                officer_id=None,
                at=now,
            )
        )
        db.session.flush()
        details = {"item": certificate.item.code, "until": str(last_day), "to": target.value}
        record_event(
            "certificate.suspension_ended",
            object_type="certificate",
            object_id=certificate.holder.number,
            details=details,
        )
        notify(
            user_id=certificate.holder.user_id,
            kind=STATUS_NOTICE,
            subject=_("证书状态变更：%(status)s", status=target.label),
            body=_(
                "您的“%(item)s”证书（%(number)s）暂扣期已于%(day)s届满，已自动恢复为“%(status)s”。",
                item=certificate.item.name,
                number=certificate.holder.number,
                day=str(last_day),
                status=target.label,
            ),
        )
        ended += 1
    return ended


def _notify_holder(certificate: Certificate, sanction: CertificateSanction, reason: str) -> None:
    body = _(
        "您的“%(item)s”证书（%(number)s）已于%(day)s%(reason)s。理由：%(text)s",
        item=certificate.item.name,
        number=certificate.holder.number,
        day=sanction.on.isoformat(),
        reason=reason,
        text=sanction.text,
    )
    if sanction.bars_until:
        body += _("自%(day)s起方可再次申请该项目的证书。", day=sanction.bars_until.isoformat())
    notify(
        user_id=certificate.holder.user_id,
        kind=STATUS_NOTICE,
        subject=_("证书状态变更：%(status)s", status=certificate.status.label),
        body=body,
    )


def reapplication_bar(*, user: User, item: Item, on: dt.date) -> str | None:
    """Why the person may not apply for the item on `on` (a revocation's bar, with the date it ends), or None."""
    if not user.id_number:
        return None
    until = db.session.execute(
        sa.select(sa.func.max(CertificateSanction.bars_until))
        .join(CertificateSanction.certificate)
        .join(Certificate.holder)
        .where(CertificateHolder.id_number == user.id_number, Certificate.item_id == item.id)
    ).scalar()
    if until is None or on >= until:
        return None
    return _(
        "您的“%(item)s”证书已被依法撤销，%(day)s前不得再次申请该项目的证书。", item=item.name, day=until.isoformat()
    )


# The holder's online request for cancellation (注销申请): the issuing authority's officer then cancels.


def open_request(certificate_id: int) -> CancellationRequest | None:
    """The certificate's open cancellation request, if any."""
    return db.session.execute(
        sa.select(CancellationRequest).where(CancellationRequest.open_key == certificate_id)
    ).scalar()


def own_certificate(*, user: User, certificate_id: int) -> Certificate:
    """One of the person's own certificates; NotFoundError for anyone else's."""
    certificate = db.session.execute(_query().where(Certificate.id == certificate_id)).scalar()
    if certificate is None or certificate.holder.user_id != user.id:
        raise NotFoundError(_("证书不存在。"))
    return certificate


def request_cancellation(
    *, user: User, certificate: Certificate, text: str, now: dt.datetime | None = None
) -> CancellationRequest:
    """The holder asks the issuing authority to cancel their certificate; refused when cancelled or already asked."""
    if certificate.holder.user_id != user.id:
        raise NotFoundError(_("证书不存在。"))
    code = ""
    if certificate.status is CertificateStatus.CANCELLED:
        code, message = "cancelled", _("该证书已注销。")
    elif open_request(certificate.id) is not None:
        code, message = "open", _("您已申请注销该证书，请等待发证机关办理。")
    if code:
        _audit("certificate.cancellation_request_refused", certificate, user.id, {"reason": code})
        raise SanctionError(message, {"": message})
    asked = CancellationRequest(
        certificate=certificate,
        user_id=user.id,
        text=text.strip()[:500],
        open_key=certificate.id,
        requested_at=now or utcnow(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(asked)
            db.session.flush()
    except sa.exc.IntegrityError:  # a concurrent request for the same certificate won
        message = _("您已申请注销该证书，请等待发证机关办理。")
        raise SanctionError(message, {"": message}) from None
    _audit("certificate.cancellation_requested", certificate, user.id, {"item": certificate.item.code})
    return asked


def open_requests(*, officer: User) -> list[CancellationRequest]:
    """The open cancellation requests for the officer's authority's certificates, oldest first."""
    org = _officer_authority(officer)
    if org is None:
        return []
    return list(
        db.session.execute(
            sa.select(CancellationRequest)
            .join(CancellationRequest.certificate)
            .where(CancellationRequest.open_key.is_not(None), _of_authority(org))
            .options(
                selectinload(CancellationRequest.certificate).selectinload(Certificate.holder),
                selectinload(CancellationRequest.certificate).selectinload(Certificate.item),
            )
            .order_by(CancellationRequest.requested_at)
        ).scalars()
    )


@dataclasses.dataclass(frozen=True)
class Notice:
    """One line of the public list of revocations and cancellations: masked, never a full ID number."""

    kind: str
    masked_name: str
    masked_number: str
    item: str
    ground: str
    on: dt.date


def public_notices(*, page: int, per_page: int) -> Page[Notice]:
    """The published revocations and cancellations, newest first, one page of them."""
    query = (
        sa.select(CertificateSanction)
        .where(CertificateSanction.kind.in_(PUBLISHED))
        .options(
            selectinload(CertificateSanction.certificate).selectinload(Certificate.holder),
            selectinload(CertificateSanction.certificate).selectinload(Certificate.item),
        )
        .order_by(CertificateSanction.on.desc(), CertificateSanction.id.desc())
    )
    found = paginate(db.session, query, page=page, per_page=per_page)
    rows = [
        Notice(
            kind=str(s.kind.label),
            masked_name=mask_name(s.certificate.holder.name),
            masked_number=mask_number(s.certificate.holder.number),
            item=f"{s.certificate.item.code} {s.certificate.item.name}",
            ground=s.ground_label,
            on=s.on,
        )
        for s in found.items
    ]
    return Page(items=rows, page=found.page, pages=found.pages, total=found.total, per_page=found.per_page)
