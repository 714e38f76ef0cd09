"""`opcert certificates ...`: offline QR verification, the list of certificates, a certificate's PDF, reminders."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup

from opcert.certificates import renewal, sanctions, seal, services
from opcert.certificates.document import render_certificate_pdf
from opcert.certificates.payload import PayloadError, Verified
from opcert.certificates.seal import SealError
from opcert.certificates.statuslist import StatusListError, check_status_list
from opcert.certificates.verify import read_qr_image, reason_text, verify_scan
from opcert.db import utcnow
from opcert.extensions import db
from opcert.timeutil import local_today

certificates_cli = AppGroup("certificates", help="证书：核验、列表、PDF / Certificates: verify, list, PDF.")


def _claims_json(verified: Verified) -> dict[str, Any]:
    claims = dataclasses.asdict(verified.claims)
    claims.update(
        first_issued_on=verified.claims.first_issued_on.isoformat(),
        valid_until=verified.claims.valid_until.isoformat(),
        review_due_on=verified.claims.review_due_on.isoformat(),
        issued_at=verified.claims.issued_at.isoformat(),
        status=verified.claims.status.value,
    )
    return {"valid": True, "claims": claims, "kid": verified.key.kid, "alg": verified.key.alg.value}


def _load_keys(keys: Path | None) -> seal.Keyring:
    if keys is None:
        return seal.load_keyring()
    try:
        return seal.keyring_from_json(keys.read_text(encoding="utf-8"))
    except (OSError, UnicodeError, SealError) as exc:
        raise click.UsageError(f"cannot read the key list {keys}: {exc}") from None


def _is_file(path: Path) -> bool:
    """Whether the argument names a file; QR text is not a path, and base45 text (which may hold '/') can make a
    "path" component longer than the system allows (OSError: file name too long)."""
    try:
        return path.is_file()
    except OSError:
        return False


@certificates_cli.command("verify-qr")
@click.argument("image_or_text")
@click.option("--keys", type=click.Path(path_type=Path, dir_okay=False), help="published keys (keys.json)")
@click.option(
    "--status-list",
    "status_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="a downloaded status-list.json: also check revocation and suspension, and show the list's age",
)
@click.option("--json", "as_json", is_flag=True, help="one JSON object")
def verify_qr_command(image_or_text: str, keys: Path | None, status_file: Path | None, as_json: bool) -> None:
    """Verify a certificate QR code (an image file, or its text) offline; exit 0 when valid, 1 when not."""
    keyring = _load_keys(keys)
    path = Path(image_or_text)
    try:
        text = read_qr_image(path.read_bytes()) if _is_file(path) else image_or_text
        verified = verify_scan(text, keyring=keyring)
        listed = _listed_status(status_file, keyring, verified.claims.status_index)
    except PayloadError as exc:
        if as_json:
            click.echo(json.dumps({"valid": False, "reason": exc.reason, "message": reason_text(exc.reason)}))
        else:
            click.echo(f"无效 / INVALID: {reason_text(exc.reason)} ({exc.reason})")
        sys.exit(1)
    if as_json:
        click.echo(json.dumps({**_claims_json(verified), **(listed or {})}, ensure_ascii=False))
    else:
        _print_claims(verified, listed)
    if listed and listed["listed_status"] != "valid":
        sys.exit(1)


def _listed_status(status_file: Path | None, keyring: seal.Keyring, index: int) -> dict[str, Any] | None:
    if status_file is None:
        return None
    try:
        checked = check_status_list(status_file.read_text(encoding="utf-8"), keyring=keyring)
    except (OSError, UnicodeError) as exc:
        raise click.UsageError(f"cannot read the status list {status_file}: {exc}") from None
    except StatusListError as exc:
        raise PayloadError(exc.reason) from None
    status = (
        "revoked" if checked.bit("revocation", index) else "suspended" if checked.bit("suspension", index) else "valid"
    )
    return {
        "listed_status": status,
        "status_list_issued_at": checked.issued_at.isoformat(),
        "status_list_age_hours": round(checked.age().total_seconds() / 3600, 1),
    }


def _print_claims(verified: Verified, listed: dict[str, Any] | None) -> None:
    claims = verified.claims
    click.echo("有效 / VALID: 电子印章验证通过")
    for label, value in (
        ("证号", claims.number),
        ("姓名", claims.name),
        ("作业类别", claims.category),
        ("操作项目", f"{claims.item_code} {claims.item_name}"),
        ("初领日期", claims.first_issued_on.isoformat()),
        ("有效期至", claims.valid_until.isoformat()),
        ("应复审日期", claims.review_due_on.isoformat()),
        ("签发机关", claims.authority),
        ("印章密钥", f"{verified.key.kid} ({verified.key.alg.value})"),
    ):
        click.echo(f"  {label}: {value}")
    if listed:
        names = {"valid": "未撤销、未暂扣", "revoked": "已撤销或注销 / REVOKED", "suspended": "已暂扣 / SUSPENDED"}
        click.echo(f"  状态列表: {names[listed['listed_status']]}")
        click.echo(f"  状态列表生成于 {listed['status_list_issued_at']}（{listed['status_list_age_hours']} 小时前）")


@certificates_cli.command("expire")
def expire_command() -> None:
    """The daily run: end suspensions whose last day has passed, record "review due" and "expired" on their day."""
    now = utcnow()
    try:
        ended = sanctions.end_lapsed_suspensions(now=now)
        counts = services.record_calendar_statuses(now=now)
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    click.echo(f"suspensions ended: {ended}, review due: {counts['review_due']}, expired: {counts['expired']}")


@certificates_cli.command("remind")
def remind_command() -> None:
    """The scheduled run: remind holders 60 and 30 days before review and expiry (each reminder once)."""
    try:
        sent = renewal.send_reminders()
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()  # the reminders leave the platform after this commit
    click.echo(f"reminders sent: {sent}")


@certificates_cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line")
def list_command(as_json: bool) -> None:
    """List every certificate with today's status."""
    today = local_today()
    for certificate in services.list_certificates():
        row = {
            "number": certificate.holder.number,
            "name": certificate.holder.name,
            "item": certificate.item.code,
            "item_name": certificate.item.name,
            "status": services.status_on(certificate, today).value,
            "first_issued_on": certificate.first_issued_on.isoformat(),
            "valid_until": certificate.valid_until.isoformat(),
            "id": certificate.id,
        }
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            click.echo(f"{row['number']}  {row['name']}  {row['item']} {row['item_name']}  {row['status']}")


@certificates_cli.command("pdf")
@click.argument("number")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, writable=True))
@click.option("--item", "item_code", help="the operation item's code, when the holder has several")
@click.option("--size", type=click.Choice(["a4", "card"]), default="a4", show_default=True)
def pdf_command(number: str, file: Path, item_code: str | None, size: str) -> None:
    """Write a certificate's PDF (its QR code verifies with `verify-qr`)."""
    holder = services.find_holder(number)
    if holder is None:
        raise click.ClickException(f"no certificate numbered {number}")
    chosen = [c for c in holder.certificates if item_code in (None, c.item.code)]
    if len(chosen) != 1:
        codes = ", ".join(c.item.code for c in holder.certificates)
        raise click.ClickException(f"{number} has certificates for {codes}: choose one with --item")
    file.write_bytes(render_certificate_pdf(services.document_for(chosen[0], today=local_today()), size=size))
    db.session.commit()  # a library photo fetched for the certificate is cached
    click.echo(f"wrote {file}")


@certificates_cli.command("rotate-key")
@click.option("--alg", type=click.Choice([alg.value for alg in seal.Algorithm]), help="default: CERT_SEAL_ALGORITHM")
def rotate_key_command(alg: str | None) -> None:
    """Retire the seal's current key now and sign from now on with a new one (old keys still verify the past)."""
    from flask import current_app

    if current_app.config.get("CERT_SEAL_KEYRING"):
        raise click.ClickException(
            "the keyring comes from OPCERT_CERT_SEAL_KEYRING: rotate it where that secret is kept, then restart"
        )
    chosen = seal.Algorithm(alg or current_app.config["CERT_SEAL_ALGORITHM"])
    rotated = seal.rotate(seal.load_keyring(), chosen)
    path = seal.save_keyring(rotated)
    click.echo(f"new {chosen.value} key {rotated.keys[-1].kid} in {path}; retired: {len(rotated.keys) - 1}")
