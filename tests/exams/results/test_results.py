"""Result rules: pass mark, theory before practical, one makeup then retraining, 12-month validity, publication,
the qualification the certificates domain reads, and the exports (CSV escaping, signed PDF)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from exams.results import export, services
from exams.results.services import ResultError, Standing
from exams.sessions import bookings
from exams.sessions.eligibility import IneligibleError
from exams.sessions.models import ExamPart
from opcert.access import Role
from opcert.documents import DocumentSignatureError
from opcert.notifications.models import Notification
from opcert.timeutil import local, local_today
from tests.exams.practical import practical_data as pd
from tests.exams.sessions import sessions_data as data
from tests.factories import staff


@pytest.fixture
def world(db):
    item = data.item()
    centre = data.centre()
    sessions = {
        name: pd.session(centre, item, part, starts_in=dt.timedelta(days=days))
        for name, part, days in (
            ("theory", ExamPart.THEORY, -20),
            ("makeup", ExamPart.THEORY, -10),
            ("third", ExamPart.THEORY, -5),
            ("practical", ExamPart.PRACTICAL, 5),
            ("practical_makeup", ExamPart.PRACTICAL, 6),
        )
    }
    return item, centre, sessions


def record(user, item, session, score, part=ExamPart.THEORY):
    row = services.record_part_result(person_id=user.id, item_id=item.id, part=part, score=score, session_id=session.id)
    return row


def standing(user, item, part=ExamPart.THEORY, on=None):
    on = on or local_today()
    return services.part_standing(person_id=user.id, item_id=item.id, part=part, on=on).standing


def test_pass_needs_the_pass_mark(db, world) -> None:
    item, _, s = world
    user = pd.candidate()
    assert not record(user, item, s["theory"], 79.9).passed
    other = pd.candidate()
    assert record(other, item, s["theory"], 80).passed


def test_score_out_of_range_or_wrong_part_is_refused(db, world) -> None:
    item, _, s = world
    user = pd.candidate()
    with pytest.raises(ResultError, match="0至100"):
        record(user, item, s["theory"], 101)
    with pytest.raises(ResultError, match="不是理论考试场次"):
        record(user, item, s["practical"], 90)
    record(user, item, s["theory"], 60)
    with pytest.raises(ResultError, match="已经记录"):
        record(user, item, s["theory"], 70)


def test_one_makeup_then_retraining_then_a_new_round(db, world) -> None:
    item, _, s = world
    user = pd.candidate()
    first = record(user, item, s["theory"], 60)
    assert first.attempt == 1
    assert standing(user, item) is Standing.MAKEUP
    assert "补考" in services.next_step(person_id=user.id, item=item, on=local_today())
    makeup = record(user, item, s["makeup"], 70)
    assert makeup.attempt == 2
    assert standing(user, item) is Standing.RETRAINING
    assert "重新参加培训" in services.next_step(person_id=user.id, item=item, on=local_today())
    with pytest.raises(ResultError, match="须重新参加培训"):
        record(user, item, s["third"], 95)
    # Booking is blocked too, with the reason.
    later = pd.session(world[1], item, ExamPart.THEORY, starts_in=dt.timedelta(days=8))
    with pytest.raises(IneligibleError) as refused:
        bookings.book_seat(trainee=user, session_id=later.id, item_id=None)
    assert any("重新参加培训" in reason for reason in refused.value.reasons.values())
    db.session.rollback()
    services.record_retraining(person_id=user.id, item_id=item.id, completed_on=local_today())
    assert standing(user, item) is Standing.NOT_TAKEN
    again = record(user, item, s["third"], 95)
    assert (again.training_round, again.attempt, again.passed) == (1, 1, True)


def test_retraining_is_refused_when_none_is_due(db, world) -> None:
    item, _, s = world
    user = pd.candidate()
    record(user, item, s["theory"], 60)
    with pytest.raises(ResultError, match="无需重新培训"):
        services.record_retraining(person_id=user.id, item_id=item.id, completed_on=local_today())


def test_practical_booking_needs_a_valid_theory_pass(db, world) -> None:
    item, _, s = world
    user = pd.candidate()
    with pytest.raises(IneligibleError) as refused:
        bookings.book_seat(trainee=user, session_id=s["practical"].id, item_id=None)
    assert any("须先通过" in reason for reason in refused.value.reasons.values())
    db.session.rollback()
    record(user, item, s["theory"], 60)
    db.session.commit()
    with pytest.raises(IneligibleError):
        bookings.book_seat(trainee=user, session_id=s["practical"].id, item_id=None)
    db.session.rollback()
    record(user, item, s["makeup"], 85)
    db.session.commit()
    booking = bookings.book_seat(trainee=user, session_id=s["practical"].id, item_id=None)
    assert booking.seat == 1
    db.session.commit()
    later = pd.session(world[1], item, ExamPart.THEORY, starts_in=dt.timedelta(days=8))
    with pytest.raises(IneligibleError) as refused:
        bookings.book_seat(trainee=user, session_id=later.id, item_id=None)
    assert any("无需再考" in reason for reason in refused.value.reasons.values())


def test_a_passed_part_is_valid_twelve_months_and_the_qualification_follows(db, world) -> None:
    item, _, s = world
    user = pd.candidate()
    theory = record(user, item, s["theory"], 88)
    assert services.qualification(user.id, item.id, theory.exam_date) is None  # practical not yet
    practical = record(user, item, s["practical"], 91.5, part=ExamPart.PRACTICAL)
    day = practical.exam_date
    found = services.qualification(user.id, item.id, day)
    assert found is not None
    assert (found.theory_score, found.practical_score) == (pd.score("88.0"), pd.score("91.5"))
    assert (found.theory_session_id, found.practical_session_id) == (s["theory"].id, s["practical"].id)
    assert found.theory_date == local(s["theory"].starts_at).date()
    last_theory_day = services.add_months(theory.exam_date, 12) - dt.timedelta(days=1)
    assert services.qualification(user.id, item.id, last_theory_day) is not None
    assert services.qualification(user.id, item.id, last_theory_day + dt.timedelta(days=1)) is None
    assert standing(user, item, on=last_theory_day + dt.timedelta(days=1)) is Standing.EXPIRED
    assert services.qualification(user.id, item.id, theory.exam_date - dt.timedelta(days=1)) is None


def test_add_months_keeps_the_day_or_takes_the_months_last() -> None:
    assert services.add_months(dt.date(2026, 3, 15), 12) == dt.date(2027, 3, 15)
    assert services.add_months(dt.date(2024, 2, 29), 12) == dt.date(2025, 2, 28)
    assert services.add_months(dt.date(2026, 8, 31), 1) == dt.date(2026, 9, 30)


def test_publication_deadline_counts_working_days(app, db) -> None:
    friday = dt.date(2026, 12, 4)
    assert services.add_working_days(friday, 1) == dt.date(2026, 12, 7)
    assert services.add_working_days(friday, 10) == dt.date(2026, 12, 18)
    app.config["RESULT_HOLIDAYS"] = ["2026-12-07"]
    try:
        assert services.add_working_days(friday, 1) == dt.date(2026, 12, 8)
    finally:
        app.config["RESULT_HOLIDAYS"] = ()


def test_results_are_hidden_until_published_then_told_with_the_next_step(db, world) -> None:
    item, _, s = world
    passer, failer = pd.candidate(), pd.candidate()
    record(passer, item, s["theory"], 90)
    row = record(failer, item, s["theory"], 50)
    db.session.commit()
    assert services.my_results(person_id=failer.id) == []
    assert row.publish_by > row.exam_date
    published = services.publish_results(session_id=s["theory"].id)
    db.session.commit()
    assert len(published) == 2
    assert [r.id for r in services.my_results(person_id=failer.id)] == [row.id]
    told = {n.user_id: n.body for n in db.session.execute(sa.select(Notification)).scalars()}
    assert "内预约实际操作考试" in told[passer.id]
    assert "请预约补考" in told[failer.id]
    assert services.publish_results(session_id=s["theory"].id) == []


def test_the_daily_command_publishes_only_what_is_due(db, world, runner) -> None:
    item, _, s = world
    user = pd.candidate()
    row = record(user, item, s["theory"], 90)
    db.session.commit()
    result = runner.invoke(args=["exams", "publish-results"])
    assert "published 0" in result.output
    row.publish_by = local_today() - dt.timedelta(days=1)
    db.session.commit()
    result = runner.invoke(args=["exams", "publish-results"])
    assert "published 1" in result.output


def test_csv_export_escapes_formula_like_cells(db, world) -> None:
    item, _, s = world
    user = pd.candidate()
    user.real_name = "=HYPERLINK"
    record(user, item, s["theory"], 90)
    db.session.commit()
    text = export.results_csv(s["theory"]).decode("utf-8-sig")
    assert "'=HYPERLINK" in text
    assert "90.0" in text


def test_the_pdf_is_signed_and_a_change_is_detected(db, world, tmp_path, runner) -> None:
    item, _, s = world
    user = pd.candidate()
    record(user, item, s["theory"], 90)
    db.session.commit()
    pdf = export.results_pdf(s["theory"])
    assert pdf.startswith(b"%PDF")
    assert export.verify_results_pdf(pdf).endswith(b"%%EOF\n")
    tampered = pdf.replace(b"/Title", b"/Titlf", 1)
    with pytest.raises(DocumentSignatureError):
        export.verify_results_pdf(tampered)
    with pytest.raises(DocumentSignatureError):
        export.verify_results_pdf(pdf.split(b"\n%OPCERT-SIGNATURE")[0])
    good, bad = tmp_path / "good.pdf", tmp_path / "bad.pdf"
    good.write_bytes(pdf)
    bad.write_bytes(tampered)
    assert "signature valid" in runner.invoke(args=["exams", "verify-results", str(good)]).output
    refused = runner.invoke(args=["exams", "verify-results", str(bad)])
    assert refused.exit_code != 0
    assert "signature invalid" in refused.output


def test_staff_of_another_centre_cannot_see_a_sessions_results(db, world, client) -> None:
    from tests.factories import PASSWORD
    from tests.fixtures.web import login

    _, _, s = world
    outsider = staff(Role.CENTRE_STAFF)
    login(client, outsider.username, PASSWORD)
    assert client.get(f"/exams/results/sessions/{s['theory'].id}").status_code == 404
    assert client.get(f"/exams/results/sessions/{s['theory'].id}/results.csv").status_code == 404


def test_retraining_is_recorded_from_the_command_line(db, world, runner) -> None:
    item, _, s = world
    user = pd.candidate()
    record(user, item, s["theory"], 50)
    record(user, item, s["makeup"], 50)
    db.session.commit()
    assert "retraining recorded" in runner.invoke(args=["exams", "record-retraining", user.id_number, item.code]).output
    assert standing(user, item) is Standing.NOT_TAKEN
    again = runner.invoke(args=["exams", "record-retraining", user.id_number, item.code])
    assert again.exit_code != 0
    assert "无需重新培训" in again.output


def test_retraining_for_the_practical_keeps_a_theory_pass_still_valid(db, world) -> None:
    item, centre, s = world
    user = pd.candidate()
    record(user, item, s["theory"], 90)
    for days in (-3, -2):
        failed = pd.session(centre, item, ExamPart.PRACTICAL, starts_in=dt.timedelta(days=days))
        record(user, item, failed, 50, part=ExamPart.PRACTICAL)
    assert standing(user, item, ExamPart.PRACTICAL) is Standing.RETRAINING
    services.record_retraining(person_id=user.id, item_id=item.id, completed_on=local_today())
    assert standing(user, item, ExamPart.PRACTICAL) is Standing.NOT_TAKEN
    assert standing(user, item) is Standing.PASSED, "the theory pass is still within its 12 months"
    assert "理论考试已合格" in services.next_step(person_id=user.id, item=item, on=local_today())
    assert services.booking_problem(person_id=user.id, item=item, part=ExamPart.PRACTICAL, on=local_today()) is None
    with pytest.raises(ResultError, match="无需再考"):
        record(user, item, s["third"], 95)
    passed = record(user, item, s["practical"], 88, part=ExamPart.PRACTICAL)
    assert (passed.training_round, passed.attempt, passed.passed) == (1, 1, True)
    qualification = services.qualification(user.id, item.id, local(s["practical"].starts_at).date())
    assert qualification is not None
    assert qualification.theory_session_id == s["theory"].id


def test_the_next_step_does_not_give_away_an_unpublished_result(db, world) -> None:
    item, centre, s = world
    user = pd.candidate()
    record(user, item, s["theory"], 90)
    services.publish_results(session_id=s["theory"].id)
    practical = pd.session(centre, item, ExamPart.PRACTICAL, starts_in=dt.timedelta(days=-1))
    record(user, item, practical, 50, part=ExamPart.PRACTICAL)
    db.session.commit()
    [(_item, step)] = services.my_next_steps(person_id=user.id, on=local_today())
    assert "补考" not in step
    assert "理论考试已合格" in step
    services.publish_results(session_id=practical.id)
    told = db.session.execute(
        sa.select(Notification.body).where(Notification.user_id == user.id).order_by(Notification.id)
    ).scalars()
    assert "实际操作考试不合格：请预约补考" in list(told)[-1], "the latest notice (rows have no order without ORDER BY)"
    [(_item, step)] = services.my_next_steps(person_id=user.id, on=local_today())
    assert "请预约补考" in step


def test_retraining_cannot_be_completed_in_the_future_or_before_the_failed_makeup(db, world, runner) -> None:
    item, _, s = world
    user = pd.candidate()
    record(user, item, s["theory"], 50)
    makeup = record(user, item, s["makeup"], 50)
    db.session.commit()
    today = local_today()
    for day, message in ((today + dt.timedelta(days=1), "不能晚于今天"), (makeup.exam_date, "须在补考之后")):
        with pytest.raises(ResultError, match=message):
            services.record_retraining(person_id=user.id, item_id=item.id, completed_on=day, today=today)
    tomorrow = (local_today() + dt.timedelta(days=1)).isoformat()
    refused = runner.invoke(args=["exams", "record-retraining", user.id_number, item.code, "--on", tomorrow])
    assert refused.exit_code != 0
    assert "不能晚于今天" in refused.output
    assert standing(user, item) is Standing.RETRAINING
    row = services.record_retraining(
        person_id=user.id, item_id=item.id, completed_on=makeup.exam_date + dt.timedelta(days=1), today=today
    )
    assert row.completed_on == makeup.exam_date + dt.timedelta(days=1)
