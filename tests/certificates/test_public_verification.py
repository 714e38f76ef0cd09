"""Public verification: by number and name or by QR (text or image), masked data, logged, throttled."""

from __future__ import annotations

import io
import re

import segno
import sqlalchemy as sa

from opcert.audit.models import AuditEvent
from opcert.certificates import payload
from opcert.certificates.public import mask_name, mask_number
from opcert.extensions import db
from tests.certificates import certs_data as data
from tests.fixtures.web import csrf_token, text

PAGE = "/certificates/verify"


def issued(app):
    with app.app_context():
        certificate = data.issued(data.holder("王小明"), data.item())
        return certificate.holder.number, certificate.holder.id_number, payload.to_text(certificate.sealed)


def post(client, form: dict, files: dict | None = None) -> str:
    body = {"n-csrf_token" if form.get("method") == "number" else "q-csrf_token": csrf_token(client, PAGE), **form}
    body.update(files or {})
    return text(client.post(PAGE, data=body, content_type="multipart/form-data"))


def result_of(page: str) -> str:
    """The result section of the page (the forms below keep what the verifier typed)."""
    match = re.search(r'<section class="card mb-4" id="result">.*?</section>', page, re.S)
    assert match, "no result shown"
    return match.group(0)


def audited(app, result: str) -> int:
    with app.app_context():
        rows = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "certificate.verified")).scalars()
        return sum(f'"result":"{result}"' in row.details for row in rows)


def test_masking() -> None:
    assert mask_name("王小明") == "王*明"
    assert mask_name("欧阳小明") == "欧**明"
    assert mask_name("王明") == "王*"
    assert mask_number("T310101198805200116") == "T310101********0116"


def test_by_number_and_name_shows_status_history_and_masked_data(app, client) -> None:
    number, id_number, _ = issued(app)
    page = result_of(post(client, {"method": "number", "n-number": number.lower(), "n-name": "王小明"}))
    assert "王*明" in page
    assert "王小明" not in page
    assert id_number not in page  # neither the ID number nor the full certificate number
    assert mask_number(number) in page
    assert "有效" in page
    assert "首次发证" in page
    assert "data:image/jpeg" not in page  # no photo without the QR code
    assert audited(app, "found") == 1


def test_a_wrong_name_and_an_unknown_number_get_the_same_answer(app, client) -> None:
    number, _, _ = issued(app)
    wrong_name = post(client, {"method": "number", "n-number": number, "n-name": "李四"})
    unknown = post(client, {"method": "number", "n-number": "T110101199001011234", "n-name": "王小明"})
    for page in (wrong_name, unknown):
        assert "证号与姓名不匹配，或没有该证书" in page
        assert "核验结果" not in page
    assert audited(app, "not_found") == 2


def test_refused_lookups_are_throttled_per_address(app, client) -> None:
    number, _, _ = issued(app)
    app.config["CERT_VERIFY_THROTTLE_THRESHOLD"] = 3
    try:
        for _ in range(3):
            post(client, {"method": "number", "n-number": number, "n-name": "猜一猜"})
        page = post(client, {"method": "number", "n-number": number, "n-name": "王小明"})
        assert "查询过于频繁" in page
        assert "核验结果" not in page  # even the right name waits
    finally:
        app.config["CERT_VERIFY_THROTTLE_THRESHOLD"] = 20
    with app.app_context():
        throttled = sa.select(sa.func.count()).where(AuditEvent.action == "certificate.verify_throttled")
        assert db.session.execute(throttled).scalar_one() == 1


def test_by_qr_text_and_image_with_the_address(app, client) -> None:
    _, id_number, qr_text = issued(app)
    page = result_of(post(client, {"method": "qr", "q-text": "https://x/certificates/verify#" + qr_text}))
    assert "电子印章验证通过" in page
    assert "王*明" in page
    assert id_number not in page

    png = io.BytesIO()
    segno.make_qr(qr_text, error="m").save(png, kind="png", scale=5)
    page = post(client, {"method": "qr"}, {"q-image": (io.BytesIO(png.getvalue()), "qr.png")})
    assert "电子印章验证通过" in page, re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))[-600:]
    assert audited(app, "valid") == 2


def test_a_tampered_qr_is_refused_with_the_reason(app, client) -> None:
    _, _, qr_text = issued(app)
    wire = bytearray(payload.b45decode(qr_text[4:]))
    wire[-1] ^= 0x01
    page = post(client, {"method": "qr", "q-text": payload.to_text(bytes(wire))})
    assert "电子印章验证失败" in page
    assert "核验结果" not in page
    page = post(client, {"method": "qr"}, {"q-image": (io.BytesIO(b"not an image"), "x.png")})
    assert "未找到可识别的二维码" in page
    page = post(client, {"method": "qr", "q-text": ""})
    assert "请粘贴二维码内容或上传二维码图片" in page
    assert audited(app, "bad_signature") == 1


def test_the_page_works_without_login_and_offers_both_ways(client) -> None:
    page = text(client.get(PAGE))
    assert "按证号和姓名查询" in page
    assert "扫描或上传二维码核验" in page
    assert 'src="/static/certificate-verify.js"' in page
