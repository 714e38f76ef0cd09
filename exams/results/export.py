"""A session's results for staff: CSV (formula-like cells escaped) and a signed PDF the platform can verify."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from fpdf.enums import WrapMode, XPos, YPos

from exams.bank.importer import write_csv
from exams.results.models import PartResult
from exams.results.services import session_results
from exams.sessions.models import ExamSession
from opcert.documents import CJK, new_pdf, sign_pdf, verify_signed_pdf
from opcert.timeutil import show_datetime


def _verdict(row: PartResult) -> str:
    if row.passed:
        return _("合格")
    return _("不合格（否决项）") if row.vetoed else _("不合格")


def _masked(id_number: str | None) -> str:
    number = id_number or ""
    return number[:6] + "********" + number[-4:] if len(number) == 18 else number


def _rows(session: ExamSession) -> list[list[str]]:
    return [
        [
            row.person.real_name,
            _masked(row.person.id_number),
            row.item.code,
            row.item.name,
            str(row.part.label),
            str(row.score),
            _verdict(row),
            str(row.attempt),
            show_datetime(row.decided_at),
            show_datetime(row.published_at) if row.published_at else _("未发布"),
        ]
        for row in session_results(session_id=session.id)
    ]


def _header() -> list[str]:
    return [
        _("姓名"),
        _("身份证号"),
        _("项目代码"),
        _("操作项目"),
        _("考试类型"),
        _("成绩"),
        _("结果"),
        _("第几次考试"),
        _("评定时间"),
        _("发布时间"),
    ]


def results_csv(session: ExamSession) -> bytes:
    """The session's results as UTF-8 CSV (with BOM); a cell starting like a formula gets a leading apostrophe."""
    return write_csv([_header(), *_rows(session)])


def results_pdf(session: ExamSession) -> bytes:
    """The session's results as an A4 PDF, signed (opcert.documents.sign_pdf)."""
    pdf = new_pdf(title=_("考试成绩单"))
    pdf.add_page()
    pdf.set_font(CJK, size=16)
    pdf.cell(0, 10, _("特种作业人员安全技术考试成绩单"), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(CJK, size=10)
    heading = _(
        "%(centre)s  %(part)s  %(start)s  场次%(id)d",
        centre=session.centre.name,
        part=str(session.part.label),
        start=show_datetime(session.starts_at),
        id=session.id,
    )
    pdf.multi_cell(0, 6, heading, wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    widths = (24.0, 40.0, 46.0, 18.0, 30.0, 22.0)
    columns = [0, 1, 3, 5, 6, 7]
    header = _header()
    pdf.set_font(CJK, size=9)
    for width, index in zip(widths, columns, strict=True):
        pdf.cell(width, 7, header[index], border=1, align="C")
    pdf.ln()
    for row in _rows(session):
        for width, index in zip(widths, columns, strict=True):
            pdf.cell(width, 7, row[index][:24], border=1)
        pdf.ln()
    pdf.ln(4)
    pdf.multi_cell(
        0,
        5,
        _("本成绩单由平台签名；以 opcert exams verify-results 文件 核验其是否被改动。"),
        wrapmode=WrapMode.CHAR,
    )
    return sign_pdf(bytes(pdf.output()), salt=str(current_app.config["RESULT_PDF_SALT"]))


def verify_results_pdf(data: bytes) -> bytes:
    """The signed content of a results PDF; DocumentSignatureError when it was changed or is not signed."""
    return verify_signed_pdf(data, salt=str(current_app.config["RESULT_PDF_SALT"]))
