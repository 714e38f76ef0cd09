"""The QR code's sealed payload: compact binary, compressed, signed, base45 text for an alphanumeric-mode QR code.

In the spirit of the EU digital COVID certificate, without its CBOR/COSE stack:

    wire   = header | zlib(body) | signature (64 bytes)
    header = version (1) | algorithm (1) | key id length (1) | key id
    body   = the certificate's fields, fixed-width integers and length-prefixed UTF-8 (see `encode_body`)

The seal signs `DOMAIN | header | zlib(body)`, the exact bytes sent (a deflate stream's padding bits could change
unnoticed if only the inflated body were signed), so a changed byte anywhere is detected. The
text is "OC1:" + base45(wire) (RFC 9285: its 45 characters are exactly the QR alphanumeric set); the QR code puts
the verification address in front of it ("...#OC1:..."), and a reader takes what follows "OC1:". Verification is
offline: the published public keys are all it needs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import struct
import zlib

from segno import consts

from opcert.certificates import seal
from opcert.certificates.models import CertificateStatus
from opcert.certificates.seal import Algorithm, Keyring, ReasonError, SealError, Signature

VERSION = 1
PREFIX = "OC1:"
DOMAIN = b"opcert-certificate\x00"
EPOCH = dt.date(2000, 1, 1)
MAX_BODY = 2048  # a body inflating beyond this is refused (a zip bomb in a QR code)
MAX_TEXT = 2000
B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_B45_INDEX = {char: index for index, char in enumerate(B45)}
_FIXED = struct.Struct(">19sc3HBII")


class PayloadError(ReasonError):
    """A QR payload that cannot be read or does not verify."""


@dataclasses.dataclass(frozen=True)
class CertificateClaims:
    """What the QR code says about a certificate, as sealed at issue."""

    number: str
    name: str
    sex: str
    category: str
    item_code: str
    item_name: str
    first_issued_on: dt.date
    valid_until: dt.date
    review_due_on: dt.date
    status: CertificateStatus
    issued_at: dt.datetime
    status_index: int
    authority: str


@dataclasses.dataclass(frozen=True)
class Verified:
    """A payload whose seal verified: its claims and the key that signed it."""

    claims: CertificateClaims
    key: seal.SealKey


# --- base45 (RFC 9285) -----------------------------------------------------------------------------


def b45encode(data: bytes) -> str:
    """RFC 9285 base45 text of `data`."""
    out = []
    for index in range(0, len(data) - 1, 2):
        value = data[index] * 256 + data[index + 1]
        value, c = divmod(value, 45)
        e, d = divmod(value, 45)
        out.append(B45[c] + B45[d] + B45[e])
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out.append(B45[c] + B45[d])
    return "".join(out)


def b45decode(text: str) -> bytes:
    """The bytes of RFC 9285 base45 text; PayloadError("not_base45") when it is not."""
    try:
        values = [_B45_INDEX[char] for char in text]
    except KeyError:
        raise PayloadError("not_base45") from None
    if len(values) % 3 == 1:
        raise PayloadError("not_base45")
    out = bytearray()
    for index in range(0, len(values), 3):
        chunk = values[index : index + 3]
        if len(chunk) == 3:
            value = chunk[0] + chunk[1] * 45 + chunk[2] * 45 * 45
            if value > 0xFFFF:
                raise PayloadError("not_base45")
            out += value.to_bytes(2, "big")
        else:
            value = chunk[0] + chunk[1] * 45
            if value > 0xFF:
                raise PayloadError("not_base45")
            out.append(value)
    return bytes(out)


# --- body --------------------------------------------------------------------------------------------


def _days(day: dt.date) -> int:
    return (day - EPOCH).days


def _text(value: str) -> bytes:
    data = value.encode()
    if len(data) > 255:
        raise ValueError("text field longer than 255 bytes")
    return bytes([len(data)]) + data


def encode_body(claims: CertificateClaims) -> bytes:
    """The claims as compact bytes: fixed-width fields first, then the length-prefixed texts."""
    fixed = _FIXED.pack(
        claims.number.encode("ascii"),
        claims.sex.encode("ascii"),
        _days(claims.first_issued_on),
        _days(claims.valid_until),
        _days(claims.review_due_on),
        claims.status.code,
        int(claims.issued_at.timestamp()),
        claims.status_index,
    )
    texts = (claims.name, claims.category, claims.item_code, claims.item_name, claims.authority)
    return fixed + b"".join(_text(value) for value in texts)


def decode_body(body: bytes) -> CertificateClaims:
    """The claims in a body; PayloadError("bad_body") when it is malformed."""
    try:
        number, sex, first, until, review, status, issued, index = _FIXED.unpack_from(body)
        position = _FIXED.size
        texts = []
        for _ in range(5):
            length = body[position]
            texts.append(body[position + 1 : position + 1 + length].decode())
            if len(texts[-1].encode()) != length:
                raise ValueError("truncated")
            position += 1 + length
        if position != len(body):
            raise ValueError("trailing bytes")
        return CertificateClaims(
            number=number.decode("ascii"),
            sex=sex.decode("ascii"),
            first_issued_on=EPOCH + dt.timedelta(days=first),
            valid_until=EPOCH + dt.timedelta(days=until),
            review_due_on=EPOCH + dt.timedelta(days=review),
            status=list(CertificateStatus)[status],
            issued_at=dt.datetime.fromtimestamp(issued, dt.UTC),
            status_index=index,
            name=texts[0],
            category=texts[1],
            item_code=texts[2],
            item_name=texts[3],
            authority=texts[4],
        )
    except (struct.error, IndexError, ValueError, UnicodeError):
        raise PayloadError("bad_body") from None


# --- sealing and verifying -------------------------------------------------------------------------


def _header(alg: Algorithm, kid: str) -> bytes:
    raw = kid.encode("ascii")
    return bytes([VERSION, alg.code, len(raw)]) + raw


def seal_claims(claims: CertificateClaims, *, keyring: Keyring) -> bytes:
    """The wire bytes of the claims, sealed with the key in force at their issue time."""
    body = encode_body(claims)
    key = keyring.current(claims.issued_at)
    signed = _header(key.alg, key.kid) + zlib.compress(body, 9)
    return signed + seal.sign(DOMAIN + signed, keyring=keyring, at=claims.issued_at).value


def to_text(wire: bytes) -> str:
    """The payload as the QR code's alphanumeric text."""
    return PREFIX + b45encode(wire)


def qr_segments(wire: bytes, *, verify_url: str) -> list[tuple[str, int]]:
    """The QR code's content for segno: the verification address (byte mode), then the payload (alphanumeric)."""
    return [(f"{verify_url}#", consts.MODE_BYTE), (to_text(wire), consts.MODE_ALPHANUMERIC)]


def extract_text(scanned: str) -> str:
    """The "OC1:..." payload in scanned or pasted text (after the verification address, if any)."""
    # The first "OC1:" (base45 text may itself contain those four characters), and only line ends stripped from
    # the end: a space is a base45 character, and the payload may end with one.
    position = scanned.find(PREFIX)
    if position < 0:
        raise PayloadError("not_a_certificate_code")
    return scanned[position:].rstrip("\r\n\t")


def _inflate(compressed: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        body = inflater.decompress(compressed, MAX_BODY)
    except zlib.error:
        raise PayloadError("bad_compression") from None
    if inflater.unconsumed_tail or not inflater.eof or inflater.unused_data:
        raise PayloadError("bad_compression")
    return body


def verify_text(scanned: str, *, keyring: Keyring) -> Verified:
    """Read and verify a scanned payload offline; PayloadError with the reason when it fails."""
    text = extract_text(scanned)
    if len(text) > MAX_TEXT:
        raise PayloadError("too_long")
    wire = b45decode(text[len(PREFIX) :])
    if len(wire) < 3 + 64 or wire[0] != VERSION:
        raise PayloadError("unknown_version" if wire and wire[0] != VERSION else "too_short")
    alg = seal.ALGORITHMS_BY_CODE.get(wire[1])
    if alg is None:
        raise PayloadError("unknown_algorithm")
    end_of_header = 3 + wire[2]
    if len(wire) < end_of_header + 64:
        raise PayloadError("too_short")
    header = wire[:end_of_header]
    try:
        kid = header[3:].decode("ascii")
    except UnicodeError:
        raise PayloadError("bad_header") from None
    claims = decode_body(_inflate(wire[end_of_header:-64]))
    try:
        key = seal.verify(
            DOMAIN + wire[:-64], Signature(alg, kid, wire[-64:]), keyring=keyring, signed_at=claims.issued_at
        )
    except SealError as exc:
        raise PayloadError(exc.reason) from None
    return Verified(claims=claims, key=key)
