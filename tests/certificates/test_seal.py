"""The electronic seal: both algorithms sign and verify, any changed byte is detected, keys rotate."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from opcert.certificates import seal
from opcert.certificates.seal import Algorithm, SealError, Signature

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DATA = "特种作业操作证 T310101199003074511".encode()


@pytest.fixture(params=list(Algorithm), ids=lambda alg: alg.value)
def alg(request: pytest.FixtureRequest) -> Algorithm:
    return request.param


def test_signs_and_verifies_with_algorithm_and_key_id(alg) -> None:
    keyring = seal.Keyring((seal.new_key(alg, now=T0),))
    signature = seal.sign(DATA, keyring=keyring, at=T0 + dt.timedelta(days=1))
    assert signature.alg is alg
    assert signature.kid == keyring.keys[0].kid
    assert len(signature.value) == 64
    key = seal.verify(DATA, signature, keyring=keyring, signed_at=T0 + dt.timedelta(days=1))
    assert key.kid == signature.kid


def test_every_changed_byte_of_data_or_signature_is_detected(alg) -> None:
    keyring = seal.Keyring((seal.new_key(alg, now=T0),))
    signature = seal.sign(DATA, keyring=keyring, at=T0)
    for index in range(len(DATA)):
        changed = bytearray(DATA)
        changed[index] ^= 0x01
        with pytest.raises(SealError, match="bad_signature"):
            seal.verify(bytes(changed), signature, keyring=keyring, signed_at=T0)
    for index in range(len(signature.value)):
        changed = bytearray(signature.value)
        changed[index] ^= 0x80
        forged = Signature(alg=alg, kid=signature.kid, value=bytes(changed))
        with pytest.raises(SealError, match="bad_signature"):
            seal.verify(DATA, forged, keyring=keyring, signed_at=T0)


def test_unknown_key_and_wrong_algorithm_are_refused(alg) -> None:
    keyring = seal.Keyring((seal.new_key(alg, now=T0),))
    signature = seal.sign(DATA, keyring=keyring, at=T0)
    other = seal.Keyring((seal.new_key(alg, now=T0),))
    with pytest.raises(SealError, match="unknown_key"):
        seal.verify(DATA, signature, keyring=other, signed_at=T0)
    other_alg = Algorithm.SM2 if alg is Algorithm.ED25519 else Algorithm.ED25519
    with pytest.raises(SealError, match="algorithm_mismatch"):
        seal.verify(DATA, Signature(other_alg, signature.kid, signature.value), keyring=keyring, signed_at=T0)


def test_rotation_keeps_old_signatures_and_refuses_signatures_after_retirement(alg) -> None:
    first = seal.Keyring((seal.new_key(Algorithm.ED25519, now=T0),))
    before = T0 + dt.timedelta(days=10)
    old_signature = seal.sign(DATA, keyring=first, at=before)
    rotation = T0 + dt.timedelta(days=20)
    rotated = seal.rotate(first, alg, now=rotation)

    old_key, new_key = rotated.keys
    assert old_key.retired_at == rotation
    assert new_key.alg is alg
    assert rotated.current(rotation + dt.timedelta(seconds=1)).kid == new_key.kid
    # What the retired key signed before its retirement still verifies.
    assert seal.verify(DATA, old_signature, keyring=rotated, signed_at=before).kid == old_key.kid
    # A signature by the retired key claiming a later signing time is refused (a stolen retired key).
    late = old_key.sign(DATA)
    with pytest.raises(SealError, match="key_retired"):
        seal.verify(DATA, Signature(old_key.alg, old_key.kid, late), keyring=rotated, signed_at=rotation)
    # A key does not vouch for a time before it existed.
    new_signature = seal.sign(DATA, keyring=rotated, at=rotation)
    with pytest.raises(SealError, match="key_not_yet_valid"):
        seal.verify(DATA, new_signature, keyring=rotated, signed_at=before)


def test_published_keys_have_no_private_half_and_verify_offline(alg) -> None:
    keyring = seal.rotate(seal.Keyring((seal.new_key(alg, now=T0),)), alg, now=T0 + dt.timedelta(days=1))
    published = json.dumps(keyring.published(issuer="上海市应急管理局"))
    assert "private" not in published
    public_only = seal.keyring_from_json(published)
    assert all(key.private is None for key in public_only.keys)
    signature = seal.sign(DATA, keyring=keyring, at=T0 + dt.timedelta(days=2))
    assert seal.verify(DATA, signature, keyring=public_only, signed_at=T0 + dt.timedelta(days=2))
    with pytest.raises(SealError, match="no_signing_key"):
        public_only.current(T0 + dt.timedelta(days=2))


def test_a_keyring_round_trips_through_json_and_bad_ones_are_refused() -> None:
    keyring = seal.Keyring((seal.new_key(Algorithm.SM2, now=T0), seal.new_key(Algorithm.ED25519, now=T0)))
    assert seal.keyring_from_json(keyring.to_json()) == keyring
    for text in ("", "[]", '{"keys": [{"kid": "a"}]}', '{"keys": [{"kid": "a", "alg": "rsa", "public": "00"}]}'):
        with pytest.raises(SealError):
            seal.keyring_from_json(text)
    entry = keyring.keys[0].entry()
    with pytest.raises(SealError, match="duplicate_kid"):
        seal.keyring_from_json(json.dumps({"keys": [entry, entry]}))
    with pytest.raises(SealError, match="bad_valid_from"):
        seal.keyring_from_json(json.dumps({"keys": [{**entry, "valid_from": "2026-01-01T00:00:00"}]}))


def test_the_app_keyring_comes_from_the_secret_or_a_file_made_once(app, tmp_path) -> None:
    path = tmp_path / "seal.json"
    with app.app_context():
        app.config["CERT_SEAL_KEYRING_FILE"] = str(path)
        app.config["CERT_SEAL_KEYRING"] = None
        try:
            first = seal.load_keyring()
            assert path.stat().st_mode & 0o077 == 0
            assert seal.load_keyring() == first
            secret = seal.Keyring((seal.new_key(Algorithm.SM2, now=T0),))
            app.config["CERT_SEAL_KEYRING"] = secret.to_json()
            assert seal.load_keyring() == secret
            assert seal.published_keys()["keys"][0]["alg"] == "sm2"
        finally:
            app.config["CERT_SEAL_KEYRING_FILE"] = None
            app.config["CERT_SEAL_KEYRING"] = None


def test_public_keys_are_published_at_a_fixed_address(client) -> None:
    response = client.get("/certificates/keys.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["issuer"] == "上海市应急管理局"
    assert document["keys"]
    assert all("private" not in key for key in document["keys"])
    assert seal.keyring_from_json(response.get_data(as_text=True)).keys[0].alg is Algorithm.ED25519


def test_rotate_key_command_keeps_old_certificates_verifiable(app, runner, tmp_path) -> None:
    from opcert.certificates import payload
    from tests.certificates import certs_data

    app.config["CERT_SEAL_KEYRING"] = None
    app.config["CERT_SEAL_KEYRING_FILE"] = str(tmp_path / "seal.json")
    try:
        with app.app_context():
            old = certs_data.issued(certs_data.holder(), certs_data.item(), now=dt.datetime.now(dt.UTC))
            old_text, old_kid = payload.to_text(old.sealed), old.seal_kid
        result = runner.invoke(args=["certificates", "rotate-key", "--alg", "sm2"])
        assert result.exit_code == 0, result.output
        with app.app_context():
            keyring = seal.load_keyring()
            assert [key.alg for key in keyring.keys] == [Algorithm.ED25519, Algorithm.SM2]
            assert keyring.find(old_kid).retired_at is not None
            assert payload.verify_text(old_text, keyring=keyring).key.kid == old_kid
            later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)  # the new key is in force from the next second
            new = certs_data.issued(certs_data.holder("新持证人"), certs_data.item(), now=later)
            assert new.seal_alg == "sm2"
            assert payload.verify_text(payload.to_text(new.sealed), keyring=keyring).key.alg is Algorithm.SM2
        app.config["CERT_SEAL_KEYRING"] = "{}"
        assert runner.invoke(args=["certificates", "rotate-key"]).exit_code == 1
    finally:
        app.config["CERT_SEAL_KEYRING_FILE"] = None


# Public keys x || y that start with the bytes 04 0…: gmssl's constructor took "04" for the uncompressed-point prefix
# and stripped every leading 0 and 4, so signing failed (odd length) or hashed a wrong Z.
_SM2_KEYS_STARTING_04 = (
    "e1728d4d183db2e40c6fd451402a01878585cf1263b41079d41723438927757d",
    "8f49ead432189497ddfa383ee56c3493098bd07e035c54af784f3f12472e455d",
)


@pytest.mark.parametrize("private_hex", _SM2_KEYS_STARTING_04)
def test_sm2_keys_whose_public_half_starts_with_04_sign_and_verify(private_hex) -> None:
    from gmssl import sm2

    scalar = int(private_hex, 16)
    public = bytes.fromhex(sm2.CryptSM2(private_key=private_hex, public_key="")._kg(scalar, seal._SM2_CURVE["g"]))
    assert public[:1] == b"\x04"
    key = seal.SealKey(kid="k", alg=Algorithm.SM2, public=public, private=bytes.fromhex(private_hex), valid_from=T0)
    signature = key.sign(DATA)
    assert key.verifies(DATA, signature)
    assert not key.verifies(DATA + b"x", signature)
    # The signature is over the Z of the whole public key, as a standard SM2 verifier computes it.
    standard = sm2.CryptSM2(private_key=None, public_key="")
    standard.public_key = public.hex()
    assert standard.verify_with_sm3(signature.hex(), DATA)
