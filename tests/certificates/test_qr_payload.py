"""The QR payload: compact, signed, base45 alphanumeric; any changed byte is refused; rotation; the offline CLI."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import subprocess

import pytest
import segno

from opcert.certificates import payload, seal, verify
from opcert.certificates.models import CertificateStatus
from opcert.certificates.payload import CertificateClaims, PayloadError
from opcert.certificates.seal import Algorithm
from tests.certificates import certs_data

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
CLAIMS = CertificateClaims(
    number="T310101198805200011",
    name="欧阳小明",
    sex="M",
    category="危险化学品安全作业",
    item_code="9.16",
    item_name="化工自动化控制仪表作业",
    first_issued_on=dt.date(2026, 11, 2),
    valid_until=dt.date(2032, 11, 2),
    review_due_on=dt.date(2029, 11, 2),
    status=CertificateStatus.VALID,
    issued_at=dt.datetime(2026, 11, 2, 2, 0, tzinfo=dt.UTC),
    status_index=123456,
    authority="上海市应急管理局",
)


@pytest.fixture(params=list(Algorithm), ids=lambda alg: alg.value)
def keyring(request: pytest.FixtureRequest) -> seal.Keyring:
    return seal.Keyring((seal.new_key(request.param, now=T0),))


def test_round_trip_is_compact_and_alphanumeric(keyring) -> None:
    wire = payload.seal_claims(CLAIMS, keyring=keyring)
    text = payload.to_text(wire)
    assert len(wire) <= 600
    assert len(text) <= 600
    assert set(text) <= set(payload.B45)  # the QR alphanumeric character set
    verified = payload.verify_text(text, keyring=keyring)
    assert verified.claims == CLAIMS
    assert verified.key.alg is keyring.keys[0].alg
    # In a QR code behind the verification address: the payload segment is alphanumeric mode.
    segments = payload.qr_segments(wire, verify_url="https://opcert.example.gov.cn/certificates/verify")
    code = segno.make_qr(segments, error="m")
    all_bytes = segno.make_qr("".join(text for text, _ in segments), mode="byte", error="m")
    assert code.version < all_bytes.version  # the payload went in as alphanumeric: 5.5 bits a character, not 8
    assert verify.verify_scan("".join(text for text, _ in segments), keyring=keyring).claims == CLAIMS


def test_base45_matches_rfc_9285_examples() -> None:
    assert payload.b45encode(b"AB") == "BB8"
    assert payload.b45encode(b"Hello!!") == "%69 VD92EX0"
    assert payload.b45encode(b"ietf!") == "QED8WEX0"
    assert payload.b45decode("QED8WEX0") == b"ietf!"
    for bad in ("GGW", "A", "abc", "ÄÄÄ"):
        with pytest.raises(PayloadError, match="not_base45"):
            payload.b45decode(bad)


def test_the_payload_starts_at_the_first_prefix_and_keeps_its_spaces(keyring) -> None:
    # "OC1:" can occur inside base45 text (a key id whose header encodes to it made verification fail every time
    # for that key): the payload starts at the first prefix. Spaces are base45 characters: only line ends go.
    assert payload.extract_text("https://x/verify#OC1:AB OC1:CD\r\n") == "OC1:AB OC1:CD"
    assert payload.extract_text("OC1:%69 VD92EX0 ") == "OC1:%69 VD92EX0 "
    text = payload.to_text(payload.seal_claims(CLAIMS, keyring=keyring))
    scanned = f"https://opcert.example.gov.cn/certificates/verify#{text}\r\n"
    assert payload.extract_text(scanned) == text
    assert payload.verify_text(scanned, keyring=keyring).claims == CLAIMS


def test_every_changed_byte_is_refused(keyring) -> None:
    wire = payload.seal_claims(CLAIMS, keyring=keyring)
    for index in range(len(wire)):
        for flip in (0x01, 0x80):
            changed = bytearray(wire)
            changed[index] ^= flip
            with pytest.raises(PayloadError):
                payload.verify_text(payload.to_text(bytes(changed)), keyring=keyring)
    for cut in (1, 10, 64, len(wire) - 1):
        with pytest.raises(PayloadError):
            payload.verify_text(payload.to_text(wire[:-cut]), keyring=keyring)


def test_a_changed_field_resealed_by_another_key_is_refused(keyring) -> None:
    forged = dataclasses.replace(CLAIMS, valid_until=dt.date(2099, 1, 1))
    stranger = seal.Keyring((dataclasses.replace(seal.new_key(Algorithm.ED25519, now=T0), kid=keyring.keys[0].kid),))
    with pytest.raises(PayloadError, match=r"bad_signature|algorithm_mismatch"):
        payload.verify_text(payload.to_text(payload.seal_claims(forged, keyring=stranger)), keyring=keyring)
    unknown = seal.Keyring((seal.new_key(keyring.keys[0].alg, now=T0),))
    with pytest.raises(PayloadError, match="unknown_key"):
        payload.verify_text(payload.to_text(payload.seal_claims(forged, keyring=unknown)), keyring=keyring)


def test_payloads_verify_across_a_key_rotation(keyring) -> None:
    before = payload.seal_claims(CLAIMS, keyring=keyring)
    rotation = CLAIMS.issued_at + dt.timedelta(days=30)
    rotated = seal.rotate(keyring, Algorithm.SM2, now=rotation)
    later = dataclasses.replace(CLAIMS, issued_at=rotation + dt.timedelta(days=1))
    after = payload.seal_claims(later, keyring=rotated)
    public = seal.keyring_from_json(json.dumps(rotated.published(issuer="x")))
    assert payload.verify_text(payload.to_text(before), keyring=public).key.kid == keyring.keys[0].kid
    assert payload.verify_text(payload.to_text(after), keyring=public).key.alg is Algorithm.SM2
    # The retired key signing a payload dated after its retirement (a leaked old key) is refused.
    old = dataclasses.replace(rotated.keys[0], retired_at=None)
    leaked = payload.seal_claims(later, keyring=seal.Keyring((old,)))
    with pytest.raises(PayloadError, match="key_retired"):
        payload.verify_text(payload.to_text(leaked), keyring=public)


def test_a_browser_encoded_address_still_verifies(keyring) -> None:
    wire = payload.seal_claims(CLAIMS, keyring=keyring)
    text = payload.to_text(wire)
    assert " " in text
    assert verify.verify_scan("https://x/certificates/verify#" + text.replace(" ", "%20"), keyring=keyring)


def test_a_literal_percent_20_in_the_payload_is_told_apart_from_an_encoded_space() -> None:
    scanned = "OC1:A%20B C"
    readings = verify._readings(scanned.replace(" ", "%20"))
    assert readings[0] == "OC1:A B C"
    assert scanned in readings


def test_the_offline_command_says_valid_or_why_not(app, runner, tmp_path) -> None:
    with app.app_context():
        keyring = seal.load_keyring()
        keys = tmp_path / "keys.json"
        keys.write_text(json.dumps(seal.published_keys()), encoding="utf-8")
    claims = dataclasses.replace(CLAIMS, issued_at=dt.datetime.now(dt.UTC).replace(microsecond=0))
    wire = payload.seal_claims(claims, keyring=keyring)
    good = payload.to_text(wire)
    image = tmp_path / "qr.png"
    segno.make_qr(payload.qr_segments(wire, verify_url="https://x/v"), error="m").save(image, scale=6)

    result = runner.invoke(args=["certificates", "verify-qr", str(image), "--keys", str(keys), "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["valid"] is True
    assert answer["claims"]["number"] == CLAIMS.number
    assert answer["claims"]["name"] == "欧阳小明"

    result = runner.invoke(args=["certificates", "verify-qr", good])
    assert result.exit_code == 0
    assert "有效" in result.output
    assert "化工自动化控制仪表作业" in result.output

    tampered = bytearray(wire)
    tampered[-70] ^= 0x04
    result = runner.invoke(args=["certificates", "verify-qr", payload.to_text(bytes(tampered)), "--keys", str(keys)])
    assert result.exit_code == 1
    assert "无效" in result.output

    blank = tmp_path / "blank.png"
    segno.make_qr("hello").save(blank, scale=2)
    result = runner.invoke(args=["certificates", "verify-qr", str(blank), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.output)["reason"] == "not_a_certificate_code"


def test_the_offline_command_takes_qr_text_that_cannot_be_a_file_name(runner) -> None:
    """The argument is tried as an image file first. Base45 text holds '/' only now and then, and a stretch
    without one longer than a file name may be (255 bytes) made the command end in OSError (file name too long)
    instead of verifying: a certificate's own payload did so in CI about once in twenty. It is text, not a path."""
    for text in ("OC1:" + "A" * 300, "OC1:" + "A" * 300 + "/" + "B" * 10):
        result = runner.invoke(args=["certificates", "verify-qr", text])
        assert result.exit_code == 1
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert "无效" in result.output


def test_list_and_pdf_commands_and_the_pdf_qr_verifies(app, runner, tmp_path) -> None:
    with app.app_context():
        user = certs_data.holder("赵六")
        first = certs_data.issued(user, certs_data.item("低压电工作业"))
        certs_data.issued(user, certs_data.item("高压电工作业"))
        number, item_code = first.holder.number, first.item.code
    result = runner.invoke(args=["certificates", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [(r["number"], r["name"], r["status"]) for r in rows] == [(number, "赵六", "valid")] * 2

    out = tmp_path / "c.pdf"
    result = runner.invoke(args=["certificates", "pdf", number, str(out)])
    assert result.exit_code == 1
    assert "--item" in result.output
    result = runner.invoke(args=["certificates", "pdf", number, str(out), "--item", item_code])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    result = runner.invoke(args=["certificates", "pdf", "T000", str(out)])
    assert result.exit_code == 1

    subprocess.run(  # noqa: S603
        [shutil.which("pdftoppm") or "pdftoppm", "-r", "200", "-png", "-singlefile", str(out), str(tmp_path / "p")],
        check=True,
    )
    result = runner.invoke(args=["certificates", "verify-qr", str(tmp_path / "p.png"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["claims"]["item_name"] == "低压电工作业"
