"""The electronic certificate: PDF (A4 and card) with the library photo, seal and QR; the QR round trip; the page."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import cv2
import pytest

from opcert.access import Role
from opcert.certificates import seal, services
from opcert.certificates.document import render_certificate_pdf
from opcert.certificates.verify import verify_scan
from opcert.documents import read_qr_code
from opcert.extensions import db
from photos import services as photos
from photos.models import PhotoSource
from tests.certificates import certs_data as data
from tests.factories import PASSWORD
from tests.fixtures.web import logged_in_client, login, text


def poppler(tool: str, *args: str) -> str:
    """Run one of poppler-utils' tools and return its output."""
    path = shutil.which(tool)
    assert path, f"{tool} is missing: apt-get install -y poppler-utils"
    return subprocess.run([path, *args], check=True, capture_output=True, text=True).stdout  # noqa: S603


def rendered_page(pdf: bytes, folder: Path, name: str, dpi: int = 200) -> Path:
    """The PDF's first page as a PNG (pdftoppm)."""
    (folder / f"{name}.pdf").write_bytes(pdf)
    poppler("pdftoppm", "-r", str(dpi), "-png", "-singlefile", str(folder / f"{name}.pdf"), str(folder / name))
    return folder / f"{name}.png"


@dataclasses.dataclass(frozen=True)
class Issued:
    id: int
    number: str
    id_number: str


@pytest.fixture
def issued(app, faces_dir) -> Issued:
    """A certificate whose holder has a library photo (committed; no app context left open)."""
    with app.app_context():
        user, item = data.holder("欧阳明"), data.item("熔化焊接与热切割作业")
        photos.store_photo(
            id_number=user.id_number,
            data=(faces_dir / "identities" / "deepface__dp01" / "1.jpg").read_bytes(),
            source=PhotoSource.UNIFIED_LIBRARY,
        )
        db.session.commit()
        certificate = data.issued(user, item)
        return Issued(certificate.id, certificate.holder.number, user.id_number)


def document(issued: Issued):
    return services.document_for(services.get_certificate(issued.id), today=data.ISSUED_AT.date())


@pytest.mark.parametrize("size", ["a4", "card"])
def test_pdf_qr_code_round_trip_verifies_offline(app, issued, tmp_path, size) -> None:
    with app.test_request_context():
        doc = document(issued)
        assert doc.photo_jpeg, "the photo is cropped from the library photo"
        pdf = render_certificate_pdf(doc, size=size)
        keys = seal.keyring_from_json(json.dumps(seal.published_keys()))
    image = cv2.imread(str(rendered_page(pdf, tmp_path, size, dpi=200 if size == "a4" else 600)))
    assert image is not None
    decoded = read_qr_code(image)
    assert decoded.startswith("http://localhost/certificates/verify#OC1:")
    verified = verify_scan(decoded, keyring=keys)
    assert verified.claims.number == issued.number
    assert verified.claims.name == "欧阳明"
    assert verified.claims.item_name == "熔化焊接与热切割作业"


def test_pdf_embeds_the_cjk_font_and_every_field(app, issued, tmp_path) -> None:
    with app.test_request_context():
        pdf = render_certificate_pdf(document(issued))
    assert b"/FontFile" in pdf
    (tmp_path / "c.pdf").write_bytes(pdf)
    fonts = poppler("pdffonts", str(tmp_path / "c.pdf"))
    assert "NotoSansCJKSC" in fonts
    extracted = poppler("pdftotext", "-enc", "UTF-8", str(tmp_path / "c.pdf"), "-")
    for expected in (
        "中华人民共和国特种作业操作证",
        issued.number,
        "欧阳明",
        "男",
        issued.id_number,
        "电工作业",
        "熔化焊接与热切割作业",
        "2026年11月2日",
        "2032年11月2日",
        "2029年11月2日",
        "复审记录",
        "上海市应急管理局",
        "电子印章",
        "有效",
    ):
        assert expected in extracted, expected


def test_the_holder_sees_the_page_and_pdfs_another_trainee_gets_404(app, issued) -> None:
    client = app.test_client()
    login(client, issued.id_number, PASSWORD)
    page = text(client.get(f"/certificates/{issued.id}"))
    assert "中华人民共和国特种作业操作证" in page
    assert issued.number in page
    assert "data:image/jpeg;base64," in page
    assert "<svg" in page
    mine = text(client.get("/certificates/mine"))
    assert "熔化焊接与热切割作业" in mine
    assert "有效" in mine
    card = client.get(f"/certificates/{issued.id}.pdf?size=card")
    assert card.status_code == 200
    assert card.mimetype == "application/pdf"

    stranger = logged_in_client(app, Role.TRAINEE)
    assert stranger.get(f"/certificates/{issued.id}").status_code == 404
    assert stranger.get(f"/certificates/{issued.id}.pdf").status_code == 404
    assert "您还没有证书" in text(stranger.get("/certificates/mine"))


def test_an_officer_sees_any_certificate(app, issued) -> None:
    officer = logged_in_client(app, Role.OFFICER)
    response = officer.get(f"/certificates/{issued.id}.pdf")
    assert response.status_code == 200
    assert response.data.startswith(b"%PDF")
