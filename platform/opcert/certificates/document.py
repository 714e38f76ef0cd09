"""The electronic certificate (电子证照): its fields, the A4 and card-size PDFs, the page.

Fields follow DOMAIN.md's certificate contents and, as far as its field list is known, the national e-licence
standard for this certificate (ZWFW C0210-2021): licence name, holder (name, sex, ID number), licence number,
category and item, first issue, validity period, review date and records, issuing authority with its seal,
issue date, the licence's status, and the QR code carrying the sealed payload.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import io
from collections.abc import Sequence

from flask import current_app, has_request_context, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos
from markupsafe import Markup

from opcert.certificates import payload
from opcert.documents import CJK, new_pdf, qr_png, qr_svg
from opcert.timeutil import show_date

TITLE = _l("中华人民共和国特种作业操作证")
CARD = (85.6, 54.0)  # ISO/IEC 7810 ID-1, the size of the physical card
SEAL_RED = (200, 30, 30)


@dataclasses.dataclass(frozen=True)
class CertificateDocument:
    """Everything printed on one certificate."""

    number: str
    name: str
    sex: str
    id_number: str
    category: str
    item: str
    first_issued_on: dt.date
    valid_until: dt.date
    review_due_on: dt.date
    status: str
    status_reason: str
    authority: str
    issued_on: dt.date
    reviews: list[tuple[dt.date, str]]
    photo_jpeg: bytes | None
    sealed: bytes
    seal_kid: str
    seal_alg: str

    @property
    def qr(self) -> list[tuple[str, int]]:
        """The QR code's segments: the verification address, then the sealed payload."""
        return payload.qr_segments(self.sealed, verify_url=verify_url())


def verify_url() -> str:
    """The public verification address printed in QR codes (CERT_VERIFY_URL, else this site's page)."""
    configured = current_app.config.get("CERT_VERIFY_URL")
    if configured:
        return str(configured)
    if has_request_context():
        return url_for("certificates.verify", _external=True)
    return f"https://{current_app.config.get('SERVER_NAME') or 'localhost'}/certificates/verify"


def fields(doc: CertificateDocument) -> list[tuple[str, str]]:
    """The labelled fields, in the order printed."""
    reviews = "；".join(f"{show_date(day)} {text}" for day, text in doc.reviews) or _("暂无")
    status = f"{doc.status}（{doc.status_reason}）" if doc.status_reason else doc.status
    return [
        (_("证号"), doc.number),
        (_("姓名"), doc.name),
        (_("性别"), _("男") if doc.sex == "M" else _("女")),
        (_("身份证号"), doc.id_number),
        (_("作业类别"), doc.category),
        (_("操作项目"), doc.item),
        (_("初领日期"), show_date(doc.first_issued_on)),
        (
            _("有效期限"),
            _("%(start)s 至 %(end)s", start=show_date(doc.first_issued_on), end=show_date(doc.valid_until)),
        ),
        (_("应复审日期"), show_date(doc.review_due_on)),
        (_("复审记录"), reviews),
        (_("证照状态"), status),
        (_("签发机关"), doc.authority),
        (_("签发日期"), show_date(doc.issued_on)),
    ]


def _draw_seal(pdf: FPDF, *, x: float, y: float, diameter: float, authority: str) -> None:
    """The authority's seal in the square at (x, y): a red ring, a star, the authority's name, 电子印章 beneath."""
    pt = 2.835  # points per mm: font sizes are in points, the drawing in mm
    pdf.set_draw_color(*SEAL_RED)
    pdf.set_text_color(*SEAL_RED)
    pdf.set_fill_color(*SEAL_RED)
    pdf.set_line_width(diameter * 0.03)
    pdf.circle(x=x + diameter / 2, y=y + diameter / 2, radius=diameter / 2 * 0.96)
    pdf.star(x + diameter / 2, y + diameter * 0.33, diameter * 0.13, diameter * 0.055, 5, style="F")
    name_mm = diameter * 0.72 / max(len(authority), 1)  # one line across the seal
    pdf.set_font(CJK, size=name_mm * pt)
    pdf.set_xy(x, y + diameter * 0.52)
    pdf.cell(diameter, name_mm * 1.2, authority, align="C")
    pdf.set_font(CJK, size=diameter * 0.09 * pt)
    pdf.set_xy(x, y + diameter * 0.7)
    pdf.cell(diameter, diameter * 0.11, _("电子印章"), align="C")
    pdf.set_draw_color(0, 0, 0)
    pdf.set_text_color(0, 0, 0)
    pdf.set_line_width(0.2)


def _photo(pdf: FPDF, doc: CertificateDocument, *, x: float, y: float, w: float, h: float) -> None:
    if doc.photo_jpeg:
        pdf.image(io.BytesIO(doc.photo_jpeg), x=x, y=y, w=w, h=h, keep_aspect_ratio=True)
        return
    pdf.rect(x, y, w, h)
    pdf.set_font(CJK, size=max(w * 0.25, 5))
    pdf.set_xy(x, y + h / 2 - 3)
    pdf.cell(w, 6, _("照片"), align="C")


def _a4(doc: CertificateDocument) -> bytes:
    pdf = new_pdf(title=str(TITLE))
    pdf.add_page()
    pdf.set_font(CJK, size=20)
    pdf.cell(0, 12, str(TITLE), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(CJK, size=10)
    pdf.cell(0, 6, _("（电子证照）"), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    top = pdf.get_y()
    _photo(pdf, doc, x=150, y=top, w=35, h=43)
    label_w, value_w, line_h = 30.0, 100.0, 8.0
    pdf.set_xy(15, top)
    for label, value in fields(doc):
        pdf.set_font(CJK, size=11)
        y = pdf.get_y()
        pdf.set_x(15 + label_w)
        pdf.multi_cell(value_w, line_h, value, border=1, wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        height = pdf.get_y() - y
        pdf.set_xy(15, y)
        pdf.cell(label_w, height, label, border=1, align="C")
        pdf.set_xy(15, y + height)
    bottom = pdf.get_y() + 8
    pdf.image(qr_png(doc.qr, scale=8), x=15, y=bottom, w=60, h=60)
    _draw_seal(pdf, x=140, y=bottom + 5, diameter=42, authority=doc.authority)
    pdf.set_font(CJK, size=9)
    pdf.set_xy(80, bottom + 8)
    pdf.multi_cell(
        55,
        5,
        _("扫描二维码或访问发证机关网站，凭证号和姓名核验本证。电子印章：%(alg)s，密钥 %(kid)s。")
        % {"alg": doc.seal_alg.upper(), "kid": doc.seal_kid},
        wrapmode=WrapMode.CHAR,
    )
    return bytes(pdf.output())


def _card(doc: CertificateDocument) -> bytes:
    pdf = new_pdf(title=str(TITLE), page=CARD, margin=3)
    pdf.set_auto_page_break(auto=False)
    pdf.add_page()
    pdf.set_font(CJK, size=7.5)
    pdf.cell(0, 4, str(TITLE), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _photo(pdf, doc, x=3, y=8, w=17, h=21)
    labelled = dict(fields(doc))
    rows = [(label, labelled[label]) for label in (_("证号"), _("姓名"), _("性别"), _("作业类别"), _("操作项目"))]
    rows += [
        (_("初领日期"), show_date(doc.first_issued_on)),
        (_("有效期至"), show_date(doc.valid_until)),
        (_("应复审日期"), show_date(doc.review_due_on)),
    ]
    pdf.set_font(CJK, size=5)
    y = 8.0
    for label, value in rows:
        pdf.set_xy(22, y)
        pdf.cell(12, 3.2, label)
        pdf.set_xy(33, y)
        pdf.cell(26, 3.2, value)
        y += 3.3
    pdf.image(qr_png(doc.qr, scale=6, border=2), x=59.5, y=26.5, w=25, h=25)
    _draw_seal(pdf, x=40, y=33, diameter=18, authority=doc.authority)  # stamped over the lower lines, as on a card
    pdf.set_xy(3, y + 1)
    pdf.set_font(CJK, size=4.5)
    pdf.cell(55, 3, f"{doc.authority}  {show_date(doc.issued_on)}")
    return bytes(pdf.output())


def render_certificate_pdf(doc: CertificateDocument, *, size: str = "a4") -> bytes:
    """The certificate as a PDF: "a4" (a page with every field) or "card" (85.6 × 54 mm)."""
    return _card(doc) if size == "card" else _a4(doc)


def certificate_html(
    doc: CertificateDocument,
    *,
    pdf_url: str,
    card_url: str,
    openings: Sequence[object] = (),
    certificate_id: int | None = None,
) -> str:
    """The certificate page: the fields, the photo, the seal's details and the QR code as inline SVG; for its
    holder, the matters that can be applied for (renewal.openings) and when they open."""
    photo_uri = "data:image/jpeg;base64," + base64.b64encode(doc.photo_jpeg).decode("ascii") if doc.photo_jpeg else None
    svg: Markup = qr_svg(doc.qr, title=_("证书二维码"), scale=3)
    return render_template(
        "certificates/certificate.html",
        doc=doc,
        title=str(TITLE),
        fields=fields(doc),
        photo_uri=photo_uri,
        qr_svg=svg,
        pdf_url=pdf_url,
        card_url=card_url,
        openings=openings,
        certificate_id=certificate_id,
    )
