"""Admission tickets (准考证): the signed token in the QR code, the PDF and the printable page.

The QR code carries a short signed token (booking id and expiry, see opcert.documents; salt TICKET_TOKEN_SALT)
that the check-in desk scans and reads back with `read_ticket_token`. The ticket itself shows the ID number only
masked.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import io

from flask import current_app, render_template
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from fpdf.enums import WrapMode, XPos, YPos

from opcert.documents import (
    CJK,
    ExpiredTokenError,
    SignedTokenError,
    make_signed_token,
    new_pdf,
    qr_png,
    qr_svg,
    read_signed_token,
)
from opcert.errors import DomainError
from opcert.timeutil import local

DEFAULT_RULES = (
    _l("考生须携带本准考证和本人有效居民身份证，于开考前30分钟到达考点，经人证核验后入场。"),
    _l("开考15分钟后不得入场；考试期间不得擅自离开考场。"),
    _l("除考点允许的物品外，手机等电子设备须关机并存放在指定位置，不得带入座位。"),
    _l("考生须按座位号就座，服从考评员和考点工作人员的管理，遵守考场纪律。"),
    _l("替考、作弊等违纪行为按有关规定处理，考试成绩无效。"),
)


class TicketTokenError(DomainError):
    """The scanned token was forged, damaged or has expired."""


@dataclasses.dataclass(frozen=True)
class TicketData:
    """Everything printed on one admission ticket (the ID number only masked)."""

    number: str
    authority: str
    name: str
    masked_id: str
    item: str
    centre: str
    address: str
    room: str
    seat: str
    starts_at: dt.datetime
    duration_minutes: int
    rules: list[str]
    photo_jpeg: bytes | None
    token: str
    exam_kind: str

    def __post_init__(self) -> None:
        if self.starts_at.tzinfo is None:
            raise ValueError("starts_at must be an aware datetime")
        if "*" not in self.masked_id:
            raise ValueError("masked_id must be masked (opcert.accounts.idnumber.mask_id_number)")

    @property
    def ends_at(self) -> dt.datetime:
        """When the exam ends."""
        return self.starts_at + dt.timedelta(minutes=self.duration_minutes)


def default_rules() -> list[str]:
    """The standard exam-room rules in the current language."""
    return [str(rule) for rule in DEFAULT_RULES]


def ticket_number(*, item_code: str, exam_day: dt.date, session_id: int, seat: int) -> str:
    """The 准考证号: item code, exam day, session and seat; unique because a seat is held once per session."""
    code = "".join(ch for ch in item_code if ch.isalnum())
    return f"{code}{exam_day:%Y%m%d}{session_id:05d}{seat:03d}"


def _salt() -> str:
    return str(current_app.config.get("TICKET_TOKEN_SALT", "opcert.exams.ticket"))


def make_ticket_token(booking_id: int, *, expires_at: dt.datetime) -> str:
    """A short signed token for the ticket's QR code: the booking id, valid until `expires_at`."""
    return make_signed_token([booking_id], salt=_salt(), expires_at=expires_at)


def read_ticket_token(token: str, *, now: dt.datetime | None = None) -> int:
    """The booking id in a scanned token; TicketTokenError when it is forged, damaged or expired."""
    try:
        (booking_id,) = read_signed_token(token, salt=_salt(), count=1, now=now)
    except ExpiredTokenError:
        raise TicketTokenError(_("准考证已过期")) from None
    except SignedTokenError:
        raise TicketTokenError(_("准考证二维码无效")) from None
    return booking_id


def exam_time_text(ticket: TicketData) -> str:
    """The date and the start–end time in the deployment's zone (Beijing time), in the current language."""
    start = local(ticket.starts_at)
    end = local(ticket.ends_at)
    return str(
        _(
            "%(date)s %(start)s–%(end)s（北京时间）",
            date=format_date(start.date(), "full"),
            start=f"{start:%H:%M}",
            end=f"{end:%H:%M}",
        )
    )


def _fields(ticket: TicketData) -> list[tuple[str, str]]:
    return [
        (_("准考证号"), ticket.number),
        (_("姓名"), ticket.name),
        (_("身份证号"), ticket.masked_id),
        (_("考试项目"), ticket.item),
        (_("考试类型"), ticket.exam_kind),
        (_("考试时间"), exam_time_text(ticket)),
        (_("考试时长"), _("%(minutes)d分钟", minutes=ticket.duration_minutes)),
        (_("考点"), ticket.centre),
        (_("考点地址"), ticket.address),
        (_("考场"), ticket.room),
        (_("座位号"), ticket.seat),
        (_("签发机关"), ticket.authority),
    ]


def render_ticket_pdf(ticket: TicketData) -> bytes:
    """The ticket as a one-page A4 PDF with an embedded CJK font, the photo and the QR code."""
    pdf = new_pdf(title=_("准考证"))
    pdf.add_page()

    pdf.set_font(CJK, size=20)
    pdf.cell(0, 12, _("特种作业人员安全技术考试准考证"), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    top = pdf.get_y()

    # Right column: photo above the QR code.
    right_x, right_w = 150.0, 45.0
    if ticket.photo_jpeg:
        pdf.image(io.BytesIO(ticket.photo_jpeg), x=right_x + 5, y=top, w=35, h=43, keep_aspect_ratio=True)
    else:
        pdf.set_font(CJK, size=10)
        pdf.rect(right_x + 5, top, 35, 43)
        pdf.set_xy(right_x + 5, top + 18)
        pdf.cell(35, 6, _("照片"), align="C")
        pdf.set_font(CJK, size=7)
        pdf.set_xy(right_x + 6, top + 26)
        pdf.multi_cell(
            33,
            4,
            _("尚无照片：请登录平台在“我的照片”上传后重新打印。入场时将核对居民身份证。"),
            align="C",
            wrapmode=WrapMode.CHAR,
        )
    pdf.image(qr_png(ticket.token), x=right_x, y=top + 48, w=right_w, h=right_w)
    pdf.set_font(CJK, size=9)
    pdf.set_xy(right_x, top + 48 + right_w + 1)
    pdf.multi_cell(right_w, 5, _("入场时请出示此二维码"), align="C", wrapmode=WrapMode.CHAR)

    # Left column: the fields in a bordered table.
    pdf.set_xy(15, top)
    label_w, value_w, line_h = 28.0, 102.0, 8.0
    for label, value in _fields(ticket):
        pdf.set_font(CJK, size=11)
        y = pdf.get_y()
        pdf.set_x(15 + label_w)
        pdf.multi_cell(
            value_w, line_h, value, border=1, align="L", wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        height = pdf.get_y() - y
        pdf.set_xy(15, y)
        pdf.cell(label_w, height, label, border=1, align="C")
        pdf.set_xy(15, y + height)

    pdf.set_y(max(pdf.get_y(), top + 48 + right_w + 8) + 6)
    pdf.set_font(CJK, size=13)
    pdf.cell(0, 8, _("考试须知"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(CJK, size=10)
    for number, rule in enumerate(ticket.rules, start=1):
        pdf.multi_cell(0, 6, f"{number}. {rule}", wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def ticket_html(ticket: TicketData, *, pdf_url: str) -> str:
    """The printable ticket page (A4 on paper, one column on a phone) with the QR code as inline SVG."""
    photo_uri = (
        "data:image/jpeg;base64," + base64.b64encode(ticket.photo_jpeg).decode("ascii") if ticket.photo_jpeg else None
    )
    return render_template(
        "sessions/ticket.html",
        ticket=ticket,
        pdf_url=pdf_url,
        fields=_fields(ticket),
        photo_uri=photo_uri,
        qr_svg=qr_svg(ticket.token, title=_("准考证二维码")),
    )
