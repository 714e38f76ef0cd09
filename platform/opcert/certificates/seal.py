"""The authority's electronic seal (电子印章): keys, signatures, rotation and the published public keys.

Ed25519 (the `cryptography` package) by default, SM2 with SM3 (GB/T 32918 / GB/T 32905, the pure-Python `gmssl`
package) as an option. The keyring is JSON, read from the file CERT_SEAL_KEYRING_FILE or, when set, the
environment secret OPCERT_CERT_SEAL_KEYRING (the JSON itself):

    {"keys": [{"kid": "...", "alg": "ed25519" | "sm2", "public": "<hex>", "private": "<hex>" (signing keys only),
               "valid_from": "<ISO UTC>", "retired_at": "<ISO UTC>" | null}]}

Each signature carries the algorithm and the key id. Rotation retires the current key at a moment: from then on it
signs nothing, and it still verifies what it signed before that moment. A signature claiming a signing time outside
its key's validity, by an unknown key or under another algorithm than its key's, is refused. The public half of the
keyring (`published_keys`) is served at a fixed public address and is what offline verifiers load.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from flask import current_app
from gmssl import sm2

from opcert.db import utcnow


class Algorithm(enum.StrEnum):
    """The seal's signature algorithms; the one-byte codes are used in the QR payload."""

    ED25519 = "ed25519"
    SM2 = "sm2"  # SM2 signature over the SM3 digest with the standard user id (GB/T 35276)

    @property
    def code(self) -> int:
        """The algorithm's byte in compact payloads."""
        return ALGORITHM_CODES[self]


ALGORITHM_CODES = {Algorithm.ED25519: 1, Algorithm.SM2: 2}
ALGORITHMS_BY_CODE = {code: alg for alg, code in ALGORITHM_CODES.items()}
_SM2_CURVE = sm2.default_ecc_table
_SM2_ORDER = int(_SM2_CURVE["n"], 16)


class ReasonError(Exception):
    """A refusal of certificates' verification machinery; `reason` is a short code (verify.REASONS names it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SealError(ReasonError):
    """A signature that does not verify, or a keyring that cannot be used."""


@dataclasses.dataclass(frozen=True)
class Signature:
    """A seal's signature with what is needed to check it."""

    alg: Algorithm
    kid: str
    value: bytes


def _sm2(private_hex: str | None, public_hex: str) -> sm2.CryptSM2:
    """gmssl's SM2 with the public key x || y exactly as given.

    Its constructor strips every leading "0" and "4" of a key that starts with "04" (meant for the uncompressed-point
    prefix), so one key in 256 was mangled: signing failed, or signed a wrong Z that no standard verifier accepts.
    """
    crypt = sm2.CryptSM2(private_key=private_hex, public_key="")
    crypt.public_key = public_hex
    return crypt


@dataclasses.dataclass(frozen=True)
class SealKey:
    """One key of the keyring: the public half always, the private half only where signing happens."""

    kid: str
    alg: Algorithm
    public: bytes
    valid_from: dt.datetime
    retired_at: dt.datetime | None = None
    private: bytes | None = dataclasses.field(default=None, repr=False)

    def valid_at(self, moment: dt.datetime) -> bool:
        """Whether the key was in force at `moment` (from valid_from, up to but not including retired_at)."""
        return self.valid_from <= moment and (self.retired_at is None or moment < self.retired_at)

    def sign(self, data: bytes) -> bytes:
        """The raw signature of `data` (64 bytes for both algorithms)."""
        if self.private is None:
            raise SealError("no_private_key")
        if self.alg is Algorithm.ED25519:
            return bytes(Ed25519PrivateKey.from_private_bytes(self.private).sign(data))
        signer = _sm2(self.private.hex(), self.public.hex())
        nonce = f"{secrets.randbelow(_SM2_ORDER - 1) + 1:064x}"  # gmssl's own nonce uses `random`, not a CSPRNG
        return bytes.fromhex(signer.sign_with_sm3(data, nonce))

    def verifies(self, data: bytes, signature: bytes) -> bool:
        """Whether `signature` is this key's signature of `data`."""
        if len(signature) != 64:
            return False
        if self.alg is Algorithm.ED25519:
            try:
                Ed25519PublicKey.from_public_bytes(self.public).verify(signature, data)
            except (InvalidSignature, ValueError):
                return False
            return True
        try:
            return bool(_sm2(None, self.public.hex()).verify_with_sm3(signature.hex(), data))
        except Exception:  # gmssl raises assorted errors on malformed points or signatures
            return False

    def public_entry(self) -> dict[str, Any]:
        """The key as published: no private half."""
        return {
            "kid": self.kid,
            "alg": self.alg.value,
            "public": self.public.hex(),
            "valid_from": self.valid_from.isoformat(),
            "retired_at": self.retired_at.isoformat() if self.retired_at else None,
        }

    def entry(self) -> dict[str, Any]:
        """The key as stored in the keyring file or secret."""
        data = self.public_entry()
        if self.private is not None:
            data["private"] = self.private.hex()
        return data


@dataclasses.dataclass(frozen=True)
class Keyring:
    """The seal's keys, current and retired."""

    keys: tuple[SealKey, ...]

    def find(self, kid: str) -> SealKey | None:
        """The key with this id, or None."""
        return next((key for key in self.keys if key.kid == kid), None)

    def current(self, moment: dt.datetime | None = None) -> SealKey:
        """The newest key in force with a private half: the one that signs now."""
        moment = moment or utcnow()
        usable = [key for key in self.keys if key.private is not None and key.valid_at(moment)]
        if not usable:
            raise SealError("no_signing_key")
        return max(usable, key=lambda key: key.valid_from)

    def to_json(self) -> str:
        """The keyring as JSON, private halves included (for the keyring file or secret)."""
        return json.dumps({"keys": [key.entry() for key in self.keys]}, indent=2)

    def published(self, *, issuer: str) -> dict[str, Any]:
        """The public keys, current and retired, with their validity periods."""
        return {"issuer": issuer, "keys": [key.public_entry() for key in self.keys]}


def _moment(raw: object, field: str) -> dt.datetime:
    if not isinstance(raw, str):
        raise SealError(f"bad_{field}")
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise SealError(f"bad_{field}") from None
    if value.tzinfo is None:
        raise SealError(f"bad_{field}")
    return value.astimezone(dt.UTC)


def _hex(raw: object, field: str) -> bytes:
    try:
        return bytes.fromhex(str(raw))
    except ValueError:
        raise SealError(f"bad_{field}") from None


def _key_from_entry(entry: Mapping[str, Any]) -> SealKey:
    try:
        alg = Algorithm(str(entry["alg"]))
        kid = str(entry["kid"])
        public = _hex(entry["public"], "public")
    except (KeyError, ValueError):
        raise SealError("bad_key_entry") from None
    if not kid or len(kid) > 32 or not kid.isascii():
        raise SealError("bad_kid")
    if len(public) != (32 if alg is Algorithm.ED25519 else 64):
        raise SealError("bad_public")
    retired = entry.get("retired_at")
    private = entry.get("private")
    return SealKey(
        kid=kid,
        alg=alg,
        public=public,
        valid_from=_moment(entry.get("valid_from"), "valid_from"),
        retired_at=_moment(retired, "retired_at") if retired else None,
        private=_hex(private, "private") if private else None,
    )


def keyring_from_json(text: str) -> Keyring:
    """Parse a keyring or a published key list; SealError naming what is wrong."""
    try:
        data = json.loads(text)
    except ValueError:
        raise SealError("bad_keyring_json") from None
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise SealError("bad_keyring_json")
    keys = tuple(_key_from_entry(entry) for entry in data["keys"] if isinstance(entry, dict))
    if len({key.kid for key in keys}) != len(keys):
        raise SealError("duplicate_kid")
    return Keyring(keys)


def new_key(alg: Algorithm, *, now: dt.datetime | None = None) -> SealKey:
    """A fresh key pair in force from `now` (whole seconds: payloads state their signing time in seconds)."""
    now = (now or utcnow()).replace(microsecond=0)
    kid = f"{now:%Y%m%d}-{secrets.token_hex(3)}"
    if alg is Algorithm.ED25519:
        private_key = Ed25519PrivateKey.generate()
        private = private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        public = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    else:
        scalar = secrets.randbelow(_SM2_ORDER - 1) + 1
        private = scalar.to_bytes(32, "big")
        public = bytes.fromhex(sm2.CryptSM2(private_key=private.hex(), public_key="")._kg(scalar, _SM2_CURVE["g"]))
    return SealKey(kid=kid, alg=alg, public=public, private=private, valid_from=now)


def rotate(keyring: Keyring, alg: Algorithm, *, now: dt.datetime | None = None) -> Keyring:
    """A new signing key from `now`; every key still in force is retired at `now` (it keeps verifying the past).

    Signing times are whole seconds: a moment inside a second becomes the next whole second, so that what the old
    key signs in the current second still falls before its retirement.
    """
    now = now or utcnow()
    if now.microsecond:
        now = now.replace(microsecond=0) + dt.timedelta(seconds=1)
    retired = tuple(
        dataclasses.replace(key, retired_at=now) if key.retired_at is None or key.retired_at > now else key
        for key in keyring.keys
    )
    return Keyring((*retired, new_key(alg, now=now)))


def sign(data: bytes, *, keyring: Keyring, at: dt.datetime) -> Signature:
    """Seal `data` with the key in force at `at` (the signing time the signed data states)."""
    key = keyring.current(at)
    return Signature(alg=key.alg, kid=key.kid, value=key.sign(data))


def verify(data: bytes, signature: Signature, *, keyring: Keyring, signed_at: dt.datetime) -> SealKey:
    """The key that made `signature` over `data` at `signed_at`; SealError with the reason otherwise."""
    key = keyring.find(signature.kid)
    if key is None:
        raise SealError("unknown_key")
    if key.alg is not signature.alg:
        raise SealError("algorithm_mismatch")
    if not key.verifies(data, signature.value):
        raise SealError("bad_signature")
    if signed_at < key.valid_from:
        raise SealError("key_not_yet_valid")
    if key.retired_at is not None and signed_at >= key.retired_at:
        raise SealError("key_retired")
    return key


# --- the application's keyring ----------------------------------------------------------------------


def keyring_path() -> Path:
    """The keyring file: CERT_SEAL_KEYRING_FILE, or certificate-seal.json in the instance folder."""
    configured = current_app.config.get("CERT_SEAL_KEYRING_FILE")
    return Path(configured) if configured else Path(current_app.instance_path) / "certificate-seal.json"


def load_keyring() -> Keyring:
    """The deployment's keyring: the secret OPCERT_CERT_SEAL_KEYRING when set, else the keyring file.

    Outside production a missing file is created with a fresh key of CERT_SEAL_ALGORITHM (like the instance
    secret key); production refuses to sign without a configured keyring.
    """
    secret = current_app.config.get("CERT_SEAL_KEYRING")
    if secret:
        return keyring_from_json(str(secret))
    path = keyring_path()
    if not path.is_file():
        if current_app.config.get("ENV") == "production":
            raise SealError("no_keyring")
        _create_first_keyring(path, Algorithm(current_app.config["CERT_SEAL_ALGORITHM"]))
    return keyring_from_json(path.read_text(encoding="utf-8"))


def _create_first_keyring(path: Path, alg: Algorithm) -> None:
    # Written aside, then linked into place (link fails if the name exists): when several workers start at once
    # exactly one key is made, nobody reads a half-written file, and every worker signs with that key.
    temporary = _write_private(path, Keyring((new_key(alg),)))
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()


def _write_private(path: Path, keyring: Keyring) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(keyring.to_json())
    return temporary


def save_keyring(keyring: Keyring) -> Path:
    """Replace the keyring file atomically (owner-only); the environment secret is the operator's to update."""
    path = keyring_path()
    _write_private(path, keyring).replace(path)
    return path


def published_keys() -> dict[str, Any]:
    """The public keys document served at the fixed address (and loaded by offline verifiers)."""
    return load_keyring().published(issuer=str(current_app.config["CERT_AUTHORITY_NAME"]))
