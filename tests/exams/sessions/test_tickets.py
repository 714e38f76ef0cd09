"""Admission tickets: the signed QR token, the PDF read back like the check-in desk does, the HTML page."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from collections.abc import Iterator

import cv2
import pytest
from flask import Flask

from exams.sessions.tickets import (
    TicketData,
    TicketTokenError,
    default_rules,
    make_ticket_token,
    read_ticket_token,
    render_ticket_pdf,
    ticket_html,
)
from opcert.accounts.idnumber import mask_id_number
from opcert.documents import read_qr_code
from tests.factories import id_number

NOW = dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.UTC)
EXPIRES = dt.datetime(2026, 11, 27, 16, 0, tzinfo=dt.UTC)
FULL_ID = id_number(dt.date(1988, 5, 20), seq=7)


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    """A request context, as in the booking views that call these functions."""
    with app.test_request_context():
        yield


def make_ticket(token: str, photo: bytes | None) -> TicketData:
    return TicketData(
        number="0101202611270000701",
        authority="上海市应急管理局",
        name="张三丰",
        masked_id=mask_id_number(FULL_ID),
        item="低压电工作业",
        centre="上海市安全生产考试示范考点",
        address="上海市黄浦区中山东一路100号",
        room="第3考场",
        seat="2-02",
        starts_at=dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC),
        duration_minutes=90,
        rules=default_rules(),
        photo_jpeg=photo,
        token=token,
        exam_kind="理论考试",
    )


def poppler(tool: str, *args: str) -> str:
    """Run one of poppler-utils' tools (installed by .ci/run) and return its output."""
    path = shutil.which(tool)
    assert path, f"{tool} is missing: apt-get install -y poppler-utils"
    return subprocess.run([path, *args], check=True, capture_output=True, text=True).stdout  # noqa: S603


def tampered(token: str, position: int) -> str:
    replacement = "A" if token[position] != "A" else "B"
    return token[:position] + replacement + token[position + 1 :]


def test_token_round_trip_is_short(ctx) -> None:
    token = make_ticket_token(5, expires_at=EXPIRES)
    assert read_ticket_token(token, now=NOW) == 5
    assert len(token) < 80, "short enough for a small QR code"


@pytest.mark.parametrize("where", ["payload", "signature"])
def test_a_changed_character_is_refused(ctx, where) -> None:
    token = make_ticket_token(5, expires_at=EXPIRES)
    dot = token.index(".")
    position = 2 if where == "payload" else dot + 10
    with pytest.raises(TicketTokenError) as caught:
        read_ticket_token(tampered(token, position), now=NOW)
    assert caught.value.message == "准考证二维码无效"


@pytest.mark.parametrize("garbage", ["", "abc", "中文.二维码", "WzUsMTg5MzQ1NjAwMF0"])
def test_garbage_is_refused(ctx, garbage) -> None:
    with pytest.raises(TicketTokenError, match="准考证二维码无效"):
        read_ticket_token(garbage, now=NOW)


def test_an_expired_token_is_refused(ctx) -> None:
    token = make_ticket_token(5, expires_at=EXPIRES)
    assert read_ticket_token(token, now=EXPIRES - dt.timedelta(seconds=1)) == 5
    with pytest.raises(TicketTokenError) as caught:
        read_ticket_token(token, now=EXPIRES)
    assert caught.value.message == "准考证已过期"


def test_a_token_for_booking_5_reads_as_no_other_booking(ctx) -> None:
    five = make_ticket_token(5, expires_at=EXPIRES)
    six = make_ticket_token(6, expires_at=EXPIRES)
    assert read_ticket_token(five, now=NOW) == 5
    assert read_ticket_token(six, now=NOW) == 6
    # Splicing booking 6's payload onto booking 5's signature does not pass.
    spliced = six.split(".")[0] + "." + five.split(".")[1]
    with pytest.raises(TicketTokenError, match="准考证二维码无效"):
        read_ticket_token(spliced, now=NOW)


def test_a_token_signed_with_another_key_is_refused(app, ctx) -> None:
    token = make_ticket_token(5, expires_at=EXPIRES)
    key = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = "another-deployment"
    try:
        with pytest.raises(TicketTokenError, match="准考证二维码无效"):
            read_ticket_token(token, now=NOW)
    finally:
        app.config["SECRET_KEY"] = key


def test_pdf_qr_code_reads_back_to_the_booking(ctx, faces_dir, tmp_path) -> None:
    photo = (faces_dir / "identities" / "deepface__dp01" / "1.jpg").read_bytes()
    token = make_ticket_token(5, expires_at=EXPIRES)
    pdf_path = tmp_path / "ticket.pdf"
    pdf_path.write_bytes(render_ticket_pdf(make_ticket(token, photo)))

    poppler("pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", "-singlefile", str(pdf_path), str(tmp_path / "page"))
    image = cv2.imread(str(tmp_path / "page.png"))
    assert image is not None
    decoded = read_qr_code(image)
    assert decoded == token
    assert read_ticket_token(decoded, now=NOW) == 5


def test_pdf_embeds_the_font_and_its_chinese_text_is_extractable(ctx, faces_dir, tmp_path) -> None:
    photo = (faces_dir / "identities" / "deepface__dp01" / "2.jpg").read_bytes()
    data = render_ticket_pdf(make_ticket(make_ticket_token(5, expires_at=EXPIRES), photo))
    assert data.startswith(b"%PDF")
    assert b"/FontFile" in data
    pdf_path = tmp_path / "ticket.pdf"
    pdf_path.write_bytes(data)
    fonts = poppler("pdffonts", str(pdf_path))
    assert "NotoSansCJKSC" in fonts
    assert all(line.split()[-5] == "yes" for line in fonts.splitlines()[2:]), fonts  # "emb" column
    extracted = poppler("pdftotext", "-enc", "UTF-8", str(pdf_path), "-")
    assert "张三丰" in extracted
    assert "准考证" in extracted
    assert "2026年11月27日" in extracted
    assert "09:00–10:30" in extracted, "times are shown in Beijing time"
    assert mask_id_number(FULL_ID) in extracted
    assert FULL_ID not in extracted


def test_html_shows_the_masked_id_never_the_full_one(ctx, faces_dir) -> None:
    photo = (faces_dir / "identities" / "deepface__dp01" / "1.jpg").read_bytes()
    token = make_ticket_token(5, expires_at=EXPIRES)
    page = ticket_html(make_ticket(token, photo), pdf_url="/t.pdf")
    assert mask_id_number(FULL_ID) in page
    assert FULL_ID not in page
    assert "张三丰" in page
    assert "<svg" in page
    assert "data:image/jpeg;base64," in page
    assert "第3考场" in page


def test_ticket_data_refuses_an_unmasked_id_or_naive_time() -> None:
    with pytest.raises(ValueError, match="masked"):
        TicketData(**{**make_ticket("t", None).__dict__, "masked_id": FULL_ID})
    with pytest.raises(ValueError, match="aware"):
        TicketData(**{**make_ticket("t", None).__dict__, "starts_at": dt.datetime(2026, 11, 27, 9, 0)})


def test_a_ticket_without_photo_still_renders(ctx) -> None:
    data = render_ticket_pdf(make_ticket(make_ticket_token(9, expires_at=EXPIRES), None))
    assert data.startswith(b"%PDF")
    assert "照片" in ticket_html(make_ticket(make_ticket_token(9, expires_at=EXPIRES), None), pdf_url="/t.pdf")
