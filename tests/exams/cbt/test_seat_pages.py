"""The seat's pages over HTTP: sign-in sets the seat cookie, JSON saves are acknowledged, refusals are 409 JSON."""

from __future__ import annotations

import re

import pytest

from exams.cbt import services
from opcert.extensions import db
from tests.exams.cbt.cbt_data import room, ticket_of
from tests.fixtures.web import csrf_token, text


@pytest.fixture
def seat(app):
    with app.app_context():
        r = room()
        booking = r.bookings[0]
        ticket, number = ticket_of(booking), booking.trainee.id_number
        services.start_run(viewer=r.staff, session_id=r.session.id)
        db.session.commit()
    client = app.test_client()
    response = client.post(
        "/exam",
        data={"ticket": ticket, "id_number": number, "terminal": "A-01", "csrf_token": csrf_token(client, "/exam")},
    )
    assert response.status_code == 302
    page = text(client.get("/exam"))
    token = re.search(r'data-csrf="([^"]+)"', page).group(1)
    return client, page, token, ticket, number


def test_the_paper_is_shown_and_saves_are_acknowledged(seat) -> None:
    client, page, token, _ticket, _number = seat
    assert page.count('class="card card-body mb-3 question"') == 10
    headers = {"X-CSRFToken": token}
    response = client.post("/exam/save", json={"seq": 1, "number": 1, "answer": "T"}, headers=headers)
    assert response.status_code == 200
    assert response.json["ok"]
    assert response.json["state"]["last_seq"] == 1
    again = client.post("/exam/save", json={"seq": 1, "number": 1, "answer": "T"}, headers=headers)
    assert again.json["duplicate"] is True
    skipped = client.post("/exam/save", json={"seq": 5, "number": 2, "answer": "T"}, headers=headers)
    assert skipped.status_code == 409
    assert skipped.json["expected"] == 2
    assert client.post("/exam/save", json={"seq": "x"}, headers=headers).status_code == 400
    assert client.post("/exam/save", data="not json", headers=headers).status_code == 400
    reloaded = text(client.get("/exam"))
    assert 'data-last-seq="1"' in reloaded
    beat = client.post("/exam/heartbeat", headers=headers)
    assert beat.json["state"]["status"] == "answering"
    done = client.post("/exam/submit", headers=headers)
    assert done.json["state"]["status"] == "submitted"
    assert "理论考试成绩" in text(client.get("/exam/done"))


def test_a_second_device_is_refused_with_a_message(app, seat) -> None:
    _client, _page, _token, ticket, number = seat
    other = app.test_client()
    response = other.post(
        "/exam", data={"ticket": ticket, "id_number": number, "csrf_token": csrf_token(other, "/exam")}
    )
    assert response.status_code == 200
    assert "另一台终端" in text(response)


def test_saves_without_a_seat_are_refused(app) -> None:
    client = app.test_client()
    headers = {"X-CSRFToken": csrf_token(client, "/exam")}
    body = {"seq": 1, "number": 1, "answer": "T"}
    assert client.post("/exam/save", json=body, headers=headers).status_code == 404
    client.set_cookie("opcert_exam_seat", "forged", path="/exam")
    for url in ("/exam/save", "/exam/heartbeat", "/exam/submit"):
        assert client.post(url, json=body, headers=headers).status_code == 404


def test_the_console_shows_each_candidate_and_acts_on_one(app) -> None:
    from tests.factories import PASSWORD
    from tests.fixtures.web import login, submit

    with app.app_context():
        r = room()
        attempt, _token = services.sign_in(
            ticket=ticket_of(r.bookings[0]),
            id_number=r.bookings[0].trainee.id_number,
            ip="10.0.0.1",
            terminal="A-01",
            device_token=None,
        )
        db.session.commit()
        ids = r.session.id, attempt.id, r.staff.login_name
    client = app.test_client()
    assert login(client, ids[2], PASSWORD).status_code == 302
    page = f"/exams/sessions/{ids[0]}/invigilate"
    shown = text(client.get(page))
    assert "已就座" in shown
    assert "已入场" in shown
    assert submit(client, f"{page}/start", page=page).status_code == 302
    assert "答题中" in text(client.get(page))
    assert submit(client, f"/exams/attempts/{ids[1]}/pause", {"reason": "身体不适"}, page=page).status_code == 302
    assert "已暂停" in text(client.get(page))
    refused = submit(
        client, f"/exams/attempts/{ids[1]}/extend", {"minutes": "0", "reason": "终端故障"}, page=page, follow=True
    )
    assert "延长时间应在1至120分钟之间" in text(refused)
    refused = submit(client, f"/exams/attempts/{ids[1]}/resume", {"reason": ""}, page=page, follow=True)
    assert "请写明理由" in text(refused)
    assert "已暂停" in text(refused)
    assert submit(client, f"{page}/end", page=page).status_code == 302
    assert "已交卷" in text(client.get(page))
