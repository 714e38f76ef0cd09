"""Public verification (no login): by certificate number and name, or by the QR code; masked, logged, throttled.

A look-up by number and name answers "found" only when both match, with one message for an unknown number and a
wrong name (no enumeration); refused look-ups count against the client address (the core throttle store), and a
held-back address is refused before any look-up. A QR code is verified offline against the published keys first,
then its certificate's current status and history are shown; only a verifier who presents the QR code sees the
photo. Every verification, refused or not, leaves an audit row (the boundary commits refusals too).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt

from flask import current_app
from flask_babel import gettext as _

from opcert.accounts import throttle
from opcert.audit.services import record_event
from opcert.certificates import seal, services
from opcert.certificates.models import Certificate, CertificateHolder, CertificateStatus
from opcert.certificates.payload import PayloadError
from opcert.certificates.verify import read_qr_image, reason_text, verify_scan
from opcert.db import utcnow
from opcert.errors import DomainError
from opcert.timeutil import local_today


class VerificationRefusedError(DomainError):
    """A verification that found nothing, failed its seal check, or came too often from one address."""


@dataclasses.dataclass(frozen=True)
class PublicEntry:
    """One certificate as the public sees it."""

    category: str
    item: str
    first_issued_on: dt.date
    valid_until: dt.date
    review_due_on: dt.date
    status: CertificateStatus
    status_reason: str
    status_on: dt.date
    history: list[tuple[dt.date, str, str]]  # date, status name, reason


@dataclasses.dataclass(frozen=True)
class PublicResult:
    """What a verifier is shown: masked personal data, each certificate's status and history."""

    masked_number: str
    masked_name: str
    sex: str
    authority: str
    entries: list[PublicEntry]
    method: str  # "number" or "qr"
    photo_uri: str | None = None
    sealed_by: str = ""  # "kid (alg)" when a QR code's seal verified


def mask_name(name: str) -> str:
    """The name partly hidden: 王*明, 欧**明, 王*."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_number(number: str) -> str:
    """The certificate number ("T" + ID number) without the middle of the ID number."""
    return f"{number[:7]}********{number[-4:]}" if len(number) == 19 else number


def _entry(certificate: Certificate, today: dt.date) -> PublicEntry:
    item = certificate.item
    return PublicEntry(
        category=item.category.name,
        item=f"{item.code} {item.name}",
        first_issued_on=certificate.first_issued_on,
        valid_until=certificate.valid_until,
        review_due_on=certificate.review_due_on,
        status=services.status_on(certificate, today),
        status_reason=certificate.status_reason,
        status_on=certificate.status_on,
        history=[(event.on, str(event.status.label), event.reason) for event in certificate.events],
    )


def _result(
    holder: CertificateHolder, certificates: list[Certificate], method: str, **extra: str | None
) -> PublicResult:
    today = local_today()
    return PublicResult(
        masked_number=mask_number(holder.number),
        masked_name=mask_name(holder.name),
        sex=_("男") if holder.sex == "M" else _("女"),
        authority=certificates[0].authority if certificates else str(current_app.config["CERT_AUTHORITY_NAME"]),
        entries=[_entry(c, today) for c in certificates],
        method=method,
        **extra,  # type: ignore[arg-type]
    )


def _log(number: str, method: str, result: str, **details: str) -> None:
    """Every verification leaves an audit row: what was asked, how, and the answer."""
    record_event(
        "certificate.verified",
        object_type="certificate",
        object_id=number,
        details={"method": method, "result": result, **details},
    )


def _policy() -> throttle.Policy:
    return throttle.Policy.from_settings("CERT_VERIFY_THROTTLE", window="LOGIN_THROTTLE_WINDOW_SECONDS")


def _held_back(key: str, ip: str, now: dt.datetime, **details: str) -> str:
    """Refuse (audited) while the address is held back under `key`; else the key, to count on."""
    wait = throttle.get_store().get(key, now).wait_seconds(now)
    if wait:
        record_event("certificate.verify_throttled", object_type="address", object_id=ip[:64], details=details)
        raise VerificationRefusedError(_("查询过于频繁，请在%(seconds)d秒后再试。", seconds=wait))
    return key


def _check_throttle(ip: str, now: dt.datetime) -> str:
    return _held_back("certverify:" + ip, ip, now)


def admit_frame(*, ip: str, now: dt.datetime | None = None) -> None:
    """A camera frame from the verification page: refused while the address is held back for refused look-ups,
    or when it sent too many frames (each one counts, CERT_VERIFY_FRAME_*); the refusal is audited."""
    now = now or utcnow()
    _check_throttle(ip, now)
    key = _held_back("certframe:" + ip, ip, now, method="frame")
    throttle.get_store().record_failure(key, now, throttle.Policy.from_settings("CERT_VERIFY_FRAME"))


def verify_by_number(*, number: str, name: str, ip: str, now: dt.datetime | None = None) -> PublicResult:
    """The certificates of the holder with this number, when the name matches too; else refused and counted."""
    now = now or utcnow()
    key = _check_throttle(ip, now)
    cleaned = number.strip().upper()[:19]
    holder = services.find_holder(cleaned)
    if holder is None or holder.name != name.strip():
        throttle.get_store().record_failure(key, now, _policy())
        _log(cleaned[:40], "number", "not_found")
        raise VerificationRefusedError(_("证号与姓名不匹配，或没有该证书。请核对后重试。"))
    _log(holder.number, "number", "found")
    return _result(holder, list(holder.certificates), "number")


def verify_by_qr(*, scanned: str, image: bytes | None, ip: str, now: dt.datetime | None = None) -> PublicResult:
    """Verify a QR code (its text, or a photo of it) against the published keys, then show the current status."""
    now = now or utcnow()
    key = _check_throttle(ip, now)
    try:
        if image is not None:
            scanned = read_qr_image(image)
        elif not scanned.strip():
            raise VerificationRefusedError(_("请粘贴二维码内容或上传二维码图片。"))
        verified = verify_scan(scanned, keyring=seal.load_keyring())
    except PayloadError as exc:
        throttle.get_store().record_failure(key, now, _policy())
        _log("", "qr", exc.reason)
        raise VerificationRefusedError(reason_text(exc.reason)) from None
    holder = services.find_holder(verified.claims.number)
    certificate = next(
        (c for c in (holder.certificates if holder else []) if c.item.code == verified.claims.item_code), None
    )
    if holder is None or certificate is None or certificate.id != verified.claims.status_index:
        _log(verified.claims.number, "qr", "not_on_record")
        raise VerificationRefusedError(_("电子印章有效，但发证机关的记录中没有这张证书，请联系发证机关。"))
    _log(holder.number, "qr", "valid", item=certificate.item.code)
    photo = services.photo_for(holder.id_number)
    return _result(
        holder,
        [certificate],
        "qr",
        photo_uri="data:image/jpeg;base64," + base64.b64encode(photo).decode("ascii") if photo else None,
        sealed_by=f"{verified.key.kid} ({verified.key.alg.value})",
    )
