"""Practical scoring: the draw, double marking, third examiner, veto, blind, own employer, range, lock, kappa."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from exams.practical import services
from exams.practical.bank import DATA_FILE, TaskBankError, load_tasks
from exams.practical.models import MarkerRole, PracticalTask, SheetStatus
from exams.results.models import PartResult
from exams.sessions.models import ExamPart
from opcert.access import Role
from opcert.audit.models import AuditEvent
from opcert.catalogue.services import DATA_FILE as CATALOGUE_FILE
from opcert.catalogue.services import load_catalogue
from opcert.notifications.models import Notification
from tests.exams.practical import practical_data as pd
from tests.exams.sessions import sessions_data as data
from tests.factories import staff


@pytest.fixture
def setup(db, tmp_path):
    item = data.item()
    pd.bank(item, tmp_path)
    centre = data.centre()
    theory = pd.session(centre, item, ExamPart.THEORY, starts_in=dt.timedelta(days=-3))
    practical = pd.session(centre, item, ExamPart.PRACTICAL, starts_in=dt.timedelta(days=5))
    manager = staff(Role.CENTRE_STAFF, org=centre)
    return item, centre, theory, practical, manager


def _sheet(setup, examiners, *, employer: str = ""):
    item, _, theory, practical, manager = setup
    user = pd.candidate(employer=employer)
    pd.pass_theory(user, item, theory)
    return user, pd.sheet_for(user, practical, examiners, manager)


def _result(db, user) -> PartResult | None:
    query = sa.select(PartResult).where(PartResult.person_id == user.id, PartResult.part == ExamPart.PRACTICAL)
    return db.session.execute(query).scalar_one_or_none()


def test_the_shipped_bank_covers_every_subject_of_low_voltage_work(db) -> None:
    load_catalogue(CATALOGUE_FILE)
    count = load_tasks(DATA_FILE)
    db.session.commit()
    assert count >= 8
    tasks = db.session.execute(sa.select(PracticalTask)).scalars().all()
    assert {t.subject.value for t in tasks if t.item.code == "1.2"} == {"K1", "K2", "K3", "K4"}
    assert all(t.max_points == 100 for t in tasks)


def test_a_bad_task_file_loads_nothing(db, tmp_path) -> None:
    item = data.item()
    path = tmp_path / "bad.toml"
    good = pd.BANK.format(code=item.code, subject="K1")
    path.write_text(good + good.replace('"K1-A"', '"K1-B"').replace("points = 40", "points = 0"), encoding="utf-8")
    with pytest.raises(TaskBankError, match="第2个任务"):
        load_tasks(path)
    db.session.rollback()
    assert db.session.execute(sa.select(PracticalTask)).first() is None


def test_one_task_is_drawn_per_subject_and_the_seed_recorded(db, setup) -> None:
    first, second = pd.examiner(), pd.examiner()
    _, sheet = _sheet(setup, [first, second])
    assert [d.subject.value for d in sheet.draws] == ["K1", "K2", "K3", "K4"]
    assert len(sheet.draw_seed) == 32
    event = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "practical.tasks_drawn")).scalar_one()
    assert sheet.draw_seed in event.details


def test_two_close_markings_decide_the_mean_and_record_the_result(db, setup) -> None:
    first, second = pd.examiner(), pd.examiner()
    user, sheet = _sheet(setup, [first, second])
    pd.mark(first, sheet, [100, 90, 80, 90])  # 20 + 36 + 16 + 18 = 90
    assert sheet.status is SheetStatus.SCORING
    pd.mark(second, sheet, [90, 90, 80, 80])  # 18 + 36 + 16 + 16 = 86
    assert sheet.status is SheetStatus.DECIDED
    assert sheet.score == pd.score("88.0")
    result = _result(db, user)
    assert result is not None
    assert result.passed
    assert result.score == pd.score("88.0")


def test_a_difference_above_the_margin_calls_a_third_examiner_who_is_notified(db, setup) -> None:
    first, second, third = pd.examiner(), pd.examiner(), pd.examiner()
    user, sheet = _sheet(setup, [first, second, third])
    pd.mark(first, sheet, [100, 100, 100, 100])  # 100
    pd.mark(second, sheet, [80, 80, 80, 80])  # 80: 20 apart > 10
    assert sheet.status is SheetStatus.THIRD_CALLED
    called = next(m for m in sheet.markings if m.role is MarkerRole.THIRD)
    assert called.examiner_id == third.id
    notice = db.session.execute(sa.select(Notification).where(Notification.user_id == third.id)).scalar_one()
    assert notice.kind == "practical_third_called"
    assert _result(db, user) is None
    pd.mark(third, sheet, [90, 90, 90, 90])  # 90: the two closest are 90 and 100 (tie with 80/90 goes higher)
    assert sheet.status is SheetStatus.DECIDED
    assert sheet.score == pd.score("95.0")


def test_a_fourth_examiner_cannot_take_a_sheet(db, setup) -> None:
    first, second, other = pd.examiner(), pd.examiner(), pd.examiner()
    _, sheet = _sheet(setup, [first, second, other])
    pd.mark(first, sheet, [90, 90, 90, 90], sign=False)
    pd.mark(second, sheet, [90, 90, 90, 90], sign=False)
    with pytest.raises(services.PracticalError, match="已由其他考评员评分") as caught:
        pd.mark(other, sheet, [90, 90, 90, 90])
    assert caught.value.reason == "already_marked"


def test_a_veto_item_fails_the_practical_whatever_the_score(db, setup) -> None:
    first, second = pd.examiner(), pd.examiner()
    user, sheet = _sheet(setup, [first, second])
    pd.mark(first, sheet, [100, 100, 100, 100], veto={1})
    pd.mark(second, sheet, [100, 100, 100, 100], veto={1})
    assert sheet.status is SheetStatus.DECIDED
    assert sheet.vetoed
    assert sheet.score == pd.score("60.0")  # K2 (40 %) counts 0
    result = _result(db, user)
    assert result is not None
    assert not result.passed
    assert result.vetoed


def test_a_veto_only_one_examiner_marked_calls_a_third(db, setup) -> None:
    first, second, third = pd.examiner(), pd.examiner(), pd.examiner()
    _, sheet = _sheet(setup, [first, second, third])
    pd.mark(first, sheet, [100, 100, 100, 100], veto={0})
    pd.mark(second, sheet, [100, 100, 100, 100])
    assert sheet.status is SheetStatus.THIRD_CALLED
    pd.mark(third, sheet, [100, 100, 100, 100], veto={0})
    assert sheet.vetoed  # two of three saw the unsafe act


def test_marking_is_blind_until_both_signed(db, app, setup) -> None:
    first, second = pd.examiner(), pd.examiner()
    _, sheet = _sheet(setup, [first, second])
    mine = pd.mark(first, sheet, [90, 90, 90, 90])
    other = pd.mark(second, sheet, [95, 95, 95, 95], sign=False)
    assert services.visible_markings(viewer=mine) == []
    assert services.visible_markings(viewer=other) == []
    pd.mark(second, sheet, [95, 95, 95, 95])
    assert [m.id for m in services.visible_markings(viewer=mine)] == [other.id]
    app.config["PRACTICAL_BLIND"] = False
    try:
        fresh_first, fresh_second = pd.examiner(), pd.examiner()
        _, open_sheet = _sheet(setup, [fresh_first, fresh_second])
        unsigned = pd.mark(fresh_first, open_sheet, [90, 90, 90, 90], sign=False)
        seen = pd.mark(fresh_second, open_sheet, [90, 90, 90, 90], sign=False)
        assert [m.id for m in services.visible_markings(viewer=unsigned)] == [seen.id]
    finally:
        app.config["PRACTICAL_BLIND"] = True


def test_an_examiner_from_the_candidates_employer_is_refused(db, setup) -> None:
    _, centre, *_ = setup
    colleague = pd.examiner(org=centre)
    other = pd.examiner()
    _, sheet = _sheet(setup, [colleague, other], employer=f" {centre.name} ")
    with pytest.raises(services.PracticalError, match="须回避") as caught:
        pd.mark(colleague, sheet, [90, 90, 90, 90])
    assert caught.value.reason == "own_employer"


def test_an_examiner_outside_the_session_is_refused(db, setup) -> None:
    first, second, outsider = pd.examiner(), pd.examiner(), pd.examiner()
    _, sheet = _sheet(setup, [first, second])
    with pytest.raises(services.PracticalError, match="未被安排") as caught:
        pd.mark(outsider, sheet, [90, 90, 90, 90])
    assert caught.value.reason == "not_assigned"


def test_a_score_out_of_range_is_refused_and_nothing_saved(db, setup) -> None:
    first, second = pd.examiner(), pd.examiner()
    _, sheet = _sheet(setup, [first, second])
    saved = pd.mark(first, sheet, [50, 50, 50, 50], sign=False)
    (line_a, line_b, _veto), *_rest = pd.lines_of(sheet)
    for bad in (61, -1):
        with pytest.raises(services.PracticalError, match="0至60分") as caught:
            services.save_marking(examiner=first, sheet_id=sheet.id, points={line_a: bad}, vetoes=set(), sign=False)
        db.session.rollback()
        assert caught.value.reason == "out_of_range"
    db.session.refresh(saved)
    assert {m.line_id: m.points for m in saved.marks}[line_a] == 50
    with pytest.raises(services.PracticalError, match="须为每一评分项打分"):
        services.save_marking(
            examiner=first, sheet_id=sheet.id, points={line_a: 10, line_b: None}, vetoes=set(), sign=True
        )
    db.session.rollback()
    db.session.refresh(saved)
    assert saved.signed_at is None


def test_a_signed_marking_is_locked(db, setup) -> None:
    first, second = pd.examiner(), pd.examiner()
    _, sheet = _sheet(setup, [first, second])
    signed = pd.mark(first, sheet, [90, 90, 90, 90])
    total = signed.total
    with pytest.raises(services.PracticalError, match="不能再修改") as caught:
        pd.mark(first, sheet, [10, 10, 10, 10])
    db.session.rollback()
    assert caught.value.reason == "locked"
    db.session.refresh(signed)
    assert signed.total == total


def test_cohen_kappa_on_a_textbook_table() -> None:
    # 50 items: both yes 20, only A yes 5, only B yes 10, both no 15 -> po 0.7, pe 0.5, kappa 0.4.
    pairs = [(True, True)] * 20 + [(True, False)] * 5 + [(False, True)] * 10 + [(False, False)] * 15
    assert services.cohen_kappa(pairs) == pytest.approx(0.4)
    assert services.cohen_kappa([(True, True)] * 4) is None
    assert services.cohen_kappa([]) is None


def test_kappa_per_examiner_from_real_markings(db, setup) -> None:
    first, second = pd.examiner(), pd.examiner()
    _, sheet_one = _sheet(setup, [first, second])
    _, sheet_two = _sheet(setup, [first, second])
    # Subject pass = at least 80 %. Over 8 subjects: both pass 4, only first 1, only second 1, both fail 2.
    pd.mark(first, sheet_one, [100, 90, 85, 70])
    pd.mark(second, sheet_one, [95, 85, 75, 80])
    pd.mark(first, sheet_two, [90, 95, 70, 60])
    pd.mark(second, sheet_two, [85, 90, 65, 60])
    rows = {row.examiner.id: row for row in services.agreement()}
    # po = 6/8, pe = (5/8)^2 + (3/8)^2 = 34/64, kappa = (48/64 - 34/64) / (30/64) = 7/15
    assert rows[first.id].pairs == 8
    assert rows[first.id].agreed == 6
    assert rows[first.id].kappa == pytest.approx(7 / 15)
    assert rows[second.id].kappa == pytest.approx(7 / 15)


def test_the_agreement_report_is_scoped_to_the_viewers_centre(db, setup) -> None:
    _, centre, *_ = setup
    first, second = pd.examiner(), pd.examiner()
    _, sheet = _sheet(setup, [first, second])
    pd.mark(first, sheet, [100, 90, 85, 70])
    pd.mark(second, sheet, [95, 85, 75, 80])
    both = {first.id, second.id}
    own_staff, other_staff = staff(Role.CENTRE_STAFF, org=centre), staff(Role.CENTRE_STAFF)
    assert {row.examiner.id for row in services.agreement_for(viewer=own_staff)} == both
    assert services.agreement_for(viewer=other_staff) == []
    assert both <= {row.examiner.id for row in services.agreement_for(viewer=staff(Role.ADMIN))}
    assert services.agreement_for(viewer=first) == [], "an examiner is no manager"
