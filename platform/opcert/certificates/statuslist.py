"""The signed status list, in the manner of the W3C Bitstring Status List: one bit per certificate.

Bit i of each list is certificate i's (its QR payload's `status_index`): the "revocation" list has revoked and
cancelled certificates set, the "suspension" list suspended ones. Each list is at least MIN_BITS long (so that a
certificate's bit hides among many), gzip-compressed and base64url-encoded with the multibase "u" prefix. The
document is sealed like a certificate: the signature covers its canonical JSON without the proof, and names the
key and algorithm. It is rebuilt when older than CERT_STATUS_LIST_MAX_AGE_SECONDS or when any status changed
since it was built (the count of status events grew), so a suspension or revocation shows in the very next list
fetched.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import gzip
import io
import json
from typing import Any

import sqlalchemy as sa
from flask import current_app

from opcert.certificates import seal
from opcert.certificates.models import Certificate, CertificateEvent, CertificateStatus, StatusList
from opcert.certificates.seal import Algorithm, Keyring, ReasonError, SealError, Signature
from opcert.db import utcnow
from opcert.extensions import db

MIN_BITS = 131_072  # the W3C recommendation's minimum (16 KB before compression)
REVOKED = frozenset({CertificateStatus.REVOKED, CertificateStatus.CANCELLED})
SUSPENDED = frozenset({CertificateStatus.SUSPENDED})
MAX_DOCUMENT = 1024 * 1024


class StatusListError(ReasonError):
    """A status list that cannot be read or whose seal does not verify."""


@dataclasses.dataclass(frozen=True)
class CheckedList:
    """A status list whose seal verified."""

    issued_at: dt.datetime
    revoked: bytes
    suspended: bytes

    def bit(self, purpose: str, index: int) -> bool:
        """Whether the certificate with this index is set in the revocation or suspension list."""
        bits = self.revoked if purpose == "revocation" else self.suspended
        return index // 8 < len(bits) and bool(bits[index // 8] & (0x80 >> (index % 8)))

    def age(self, now: dt.datetime | None = None) -> dt.timedelta:
        """How old the list is."""
        return (now or utcnow()) - self.issued_at


def _encode(bits: bytearray) -> str:
    return "u" + base64.urlsafe_b64encode(gzip.compress(bytes(bits), mtime=0)).decode("ascii").rstrip("=")


def _decode(text: object) -> bytes:
    if not isinstance(text, str) or not text.startswith("u"):
        raise StatusListError("bad_list")
    try:
        raw = base64.urlsafe_b64decode(text[1:] + "=" * (-len(text[1:]) % 4))
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as handle:
            bits = handle.read(MAX_DOCUMENT + 1)
    except (ValueError, OSError, EOFError):
        raise StatusListError("bad_list") from None
    if len(bits) > MAX_DOCUMENT:
        raise StatusListError("bad_list")
    return bits


def _canonical(document: dict[str, Any]) -> bytes:
    return (
        b"opcert-status-list\x00"
        + json.dumps(
            {k: v for k, v in document.items() if k != "proof"},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
    )


def build_status_list(*, now: dt.datetime | None = None) -> dict[str, Any]:
    """A fresh sealed status list of every certificate's current status."""
    keyring = seal.load_keyring()  # first: a key created on first use is then in force at `now`
    now = (now or utcnow()).replace(microsecond=0)
    rows = db.session.execute(sa.select(Certificate.id, Certificate.status)).all()
    size = max([MIN_BITS, *((row.id // 8 + 1) * 8 for row in rows)])
    revoked, suspended = bytearray(size // 8), bytearray(size // 8)
    for row in rows:
        for bits, statuses in ((revoked, REVOKED), (suspended, SUSPENDED)):
            if row.status in statuses:
                bits[row.id // 8] |= 0x80 >> (row.id % 8)
    max_age = int(current_app.config["CERT_STATUS_LIST_MAX_AGE_SECONDS"])
    document: dict[str, Any] = {
        "type": "BitstringStatusList",
        "issuer": str(current_app.config["CERT_AUTHORITY_NAME"]),
        "validFrom": now.isoformat(),
        "validUntil": (now + dt.timedelta(seconds=max_age)).isoformat(),
        "size": size,
        "revocation": _encode(revoked),
        "suspension": _encode(suspended),
    }
    signature = seal.sign(_canonical(document), keyring=keyring, at=now)
    document["proof"] = {"alg": signature.alg.value, "kid": signature.kid, "signature": signature.value.hex()}
    return document


def current_status_list(*, now: dt.datetime | None = None) -> dict[str, Any]:
    """The newest published list, rebuilt (and stored) when too old or when a status changed since."""
    now = now or utcnow()
    newest = db.session.execute(sa.select(StatusList).order_by(StatusList.id.desc()).limit(1)).scalar()
    # Counted before the list is built: an event committed meanwhile leaves the count behind, so the next
    # request rebuilds (comparing event times with the list's would miss a change committed while it was being
    # built, or stamped by a worker whose clock is behind).
    events = db.session.execute(sa.select(sa.func.count(CertificateEvent.id))).scalar_one()
    max_age = dt.timedelta(seconds=int(current_app.config["CERT_STATUS_LIST_MAX_AGE_SECONDS"]))
    if newest is not None and now - newest.issued_at < max_age and events == newest.events_seen:
        document: dict[str, Any] = json.loads(newest.document)
        return document
    document = build_status_list(now=now)
    db.session.add(
        StatusList(
            issued_at=dt.datetime.fromisoformat(document["validFrom"]),
            document=json.dumps(document),
            events_seen=events,
        )
    )
    db.session.flush()
    return document


def check_status_list(text: str, *, keyring: Keyring) -> CheckedList:
    """Verify a published status list offline; StatusListError with the reason when it fails."""
    if len(text) > MAX_DOCUMENT:
        raise StatusListError("bad_list")
    try:
        document = json.loads(text)
        proof = document["proof"]
        signature = Signature(Algorithm(proof["alg"]), str(proof["kid"]), bytes.fromhex(proof["signature"]))
        issued_at = dt.datetime.fromisoformat(document["validFrom"])
        lists = document["revocation"], document["suspension"]
    except (ValueError, KeyError, TypeError):
        raise StatusListError("bad_list") from None
    if issued_at.tzinfo is None:
        raise StatusListError("bad_list")
    try:
        seal.verify(_canonical(document), signature, keyring=keyring, signed_at=issued_at)
    except SealError as exc:
        raise StatusListError(exc.reason) from None
    return CheckedList(issued_at=issued_at, revoked=_decode(lists[0]), suspended=_decode(lists[1]))
