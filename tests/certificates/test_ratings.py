"""好差评: each completed matter rated once; a bad rating opens a follow-up due in 15 working days (weekends
skipped), closed with a note; the report by matter and month and its CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from opcert.access import Role
from opcert.certificates import mail, ratings
from opcert.certificates.service_models import RatingLevel
from opcert.errors import NotFoundError
from opcert.extensions import db
from tests.certificates import applications_data as data
from tests.certificates import service_data as sd
from tests.factories import staff


def shanghai(day: dt.date, hour: int = 9) -> dt.datetime:
    """`hour` o'clock in Shanghai (UTC+8) on `day`."""
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC) - dt.timedelta(hours=8)


def test_a_decided_application_is_rated_once_only(app, db) -> None:
    application, _officer = sd.approved(app, delivery=sd.Delivery.ELECTRONIC)
    person = application.user
    [(matter, given)] = ratings.completed_matters(person.id)
    assert (matter.subject, matter.matter, given) == (f"application:{application.id}", "first_issue", None)
    assert ratings.matter_to_rate(person, "application", application.id) == matter
    rating = ratings.rate(user=person, matter=matter, level="very_satisfied", comment="  全程网办，很方便 ")
    db.session.commit()
    assert (rating.level, rating.comment, rating.follow_up) == (RatingLevel.VERY_SATISFIED, "全程网办，很方便", None)
    with pytest.raises(ratings.RatingError, match="只能评价一次"):
        ratings.rate(user=person, matter=matter, level="very_dissatisfied", comment="")
    db.session.commit()
    assert sd.audits("certificate.rating_refused") == 1
    assert sd.audits("certificate.rated") == 1
    assert ratings.completed_matters(person.id) == [(matter, rating)]
    assert ratings.rating_of(matter.subject).level is RatingLevel.VERY_SATISFIED


def test_only_ones_own_completed_matters_can_be_rated(app, db) -> None:
    authority = data.bureau(app)
    application, _officer = sd.approved(app, authority=authority)
    other, _ = sd.approved(app, authority=authority)
    with pytest.raises(NotFoundError):
        ratings.matter_to_rate(application.user, "application", other.id)
    with pytest.raises(NotFoundError):
        ratings.matter_to_rate(application.user, "nonsense", application.id)
    mailing = sd.mailing_of(application)
    with pytest.raises(ratings.RatingError, match="尚未办结"):  # queued, not yet delivered
        ratings.matter_to_rate(application.user, "mailing", mailing.id)


def test_a_delivered_card_is_a_matter_to_rate(app, db) -> None:
    mailing, officer = sd.sent(app)
    mail.mark_delivered(officer=officer, mailing=mailing)
    db.session.commit()
    matter = ratings.matter_to_rate(mailing.user, "mailing", mailing.id)
    assert (matter.matter, matter.matter_label) == ("mail", "证卡邮寄")
    assert [m.subject for m, _r in ratings.completed_matters(mailing.user_id)] == [
        f"mailing:{mailing.id}",
        f"application:{mailing.source.split(':')[1]}",
    ]


def test_level_and_comment_are_checked(app, db) -> None:
    application, _officer = sd.approved(app, delivery=sd.Delivery.ELECTRONIC)
    matter = ratings.matter_to_rate(application.user, "application", application.id)
    with pytest.raises(ratings.RatingError, match="请选择评价等级"):
        ratings.rate(user=application.user, matter=matter, level="great", comment="")
    with pytest.raises(ratings.RatingError, match="不能超过300字") as refused:
        ratings.rate(user=application.user, matter=matter, level="satisfied", comment="好" * 301)
    assert set(refused.value.reasons) == {"comment"}
    db.session.rollback()
    ratings.rate(user=application.user, matter=matter, level="satisfied", comment="好" * 300)
    db.session.commit()


def test_a_bad_rating_opens_a_follow_up_due_in_15_working_days_across_weekends(app, db) -> None:
    application, officer = sd.approved(app, delivery=sd.Delivery.ELECTRONIC)
    matter = ratings.matter_to_rate(application.user, "application", application.id)
    friday = dt.date(2026, 12, 4)
    rating = ratings.rate(
        user=application.user, matter=matter, level="dissatisfied", comment="等了很久", now=shanghai(friday)
    )
    db.session.commit()
    follow_up = rating.follow_up
    assert follow_up is not None
    assert follow_up.opened_on == friday
    # Three weekends skipped: 7–11, 14–18, 21–25 December are the 15 working days.
    assert follow_up.due_on == dt.date(2026, 12, 25)
    assert follow_up.authority_id == application.authority_id
    assert rating.month == "2026-12"
    assert sd.audits("certificate.rating_followup_opened") == 1
    assert sd.notices(application.user_id, ratings.RATING_NOTICE) == [
        "感谢您的评价。发证机关将在2026-12-25前核实处理并答复您。"
    ]
    assert ratings.follow_ups(officer, dt.date(2026, 12, 10)) == [(follow_up, "")]
    assert ratings.follow_ups(officer, dt.date(2026, 12, 24)) == [(follow_up, "due_soon")]
    assert ratings.follow_ups(officer, dt.date(2026, 12, 25)) == [(follow_up, "due_soon")]
    assert ratings.follow_ups(officer, dt.date(2026, 12, 28)) == [(follow_up, "overdue")]


def test_a_very_bad_rating_on_a_sunday_counts_from_monday(app, db) -> None:
    application, _officer = sd.approved(app, delivery=sd.Delivery.ELECTRONIC)
    matter = ratings.matter_to_rate(application.user, "application", application.id)
    sunday = dt.date(2026, 12, 6)
    rating = ratings.rate(
        user=application.user, matter=matter, level="very_dissatisfied", comment="", now=shanghai(sunday)
    )
    assert rating.follow_up.due_on == dt.date(2026, 12, 25)


def test_closing_a_follow_up_needs_a_note_and_an_officer_of_the_authority(app, db) -> None:
    application, officer = sd.approved(app, delivery=sd.Delivery.ELECTRONIC)
    matter = ratings.matter_to_rate(application.user, "application", application.id)
    rating = ratings.rate(user=application.user, matter=matter, level="very_dissatisfied", comment="电话打不通")
    db.session.commit()
    follow_up = rating.follow_up
    _other, stranger = data.bureau(app, name="浦东新区应急管理局（评价）")
    assert ratings.follow_ups(stranger, dt.date(2026, 12, 10)) == []
    with pytest.raises(ratings.RatingError, match="不属于您所在发证机关"):
        ratings.managed_follow_up(stranger, follow_up.id)
    db.session.commit()
    assert sd.audits("certificate.rating_followup_foreign") == 1
    with pytest.raises(NotFoundError):
        ratings.managed_follow_up(officer, follow_up.id + 1000)
    with pytest.raises(ratings.RatingError, match="请写明核实和整改的情况"):
        ratings.close_follow_up(officer=officer, follow_up=follow_up, note="   ")
    db.session.rollback()
    assert follow_up.closed_at is None
    note = "已回访申请人，公布了咨询电话值班表。"
    ratings.close_follow_up(officer=officer, follow_up=follow_up, note=note)
    db.session.commit()
    assert (follow_up.note, follow_up.closed_by) == (note, officer.id)
    assert ratings.follow_up_state(follow_up, follow_up.due_on + dt.timedelta(days=30)) == "on_time"
    with pytest.raises(ratings.RatingError, match="已办结"):
        ratings.close_follow_up(officer=officer, follow_up=follow_up, note="again")
    assert sd.audits("certificate.rating_followup_closed") == 1
    assert sd.notices(application.user_id, ratings.RATING_NOTICE)[-1] == f"发证机关对您的评价作出答复：{note}"


def _rated(app, authority, level: str, when: dt.date | dt.datetime, *, mailed: bool = False):
    """A completed matter of the authority rated `level` at `when` (09:00 in Shanghai on a date), committed."""
    if mailed:
        application, officer = sd.approved(app, authority=authority)
        mailing = sd.mailing_of(application)
        mail.mark_sent(officer=officer, mailing=mailing, courier="ems", tracking_number=sd.GOOD_EMS)
        mail.mark_delivered(officer=officer, mailing=mailing)
        matter = ratings.matter_to_rate(application.user, "mailing", mailing.id)
    else:
        application, officer = sd.approved(app, delivery=sd.Delivery.ELECTRONIC, authority=authority)
        matter = ratings.matter_to_rate(application.user, "application", application.id)
    now = when if isinstance(when, dt.datetime) else shanghai(when)
    rating = ratings.rate(user=application.user, matter=matter, level=level, comment="", now=now)
    db.session.commit()
    return rating, officer


def test_the_report_by_matter_and_month_and_its_csv(app, db) -> None:
    authority = data.bureau(app)
    _rated(app, authority, "very_satisfied", dt.date(2026, 11, 10))
    on_time, officer = _rated(app, authority, "dissatisfied", dt.date(2026, 11, 12))
    ratings.close_follow_up(
        officer=officer, follow_up=on_time.follow_up, note="已整改", now=shanghai(dt.date(2026, 11, 20))
    )
    late, _ = _rated(app, authority, "dissatisfied", dt.date(2026, 11, 2))  # Monday: due Monday 23 November
    assert late.follow_up.due_on == dt.date(2026, 11, 23)
    ratings.close_follow_up(
        officer=officer, follow_up=late.follow_up, note="已回访", now=shanghai(dt.date(2026, 12, 1))
    )
    _rated(app, authority, "very_dissatisfied", dt.date(2026, 12, 4))  # due 25 December, still open on the 28th
    _rated(app, authority, "basic", dt.date(2026, 12, 4), mailed=True)
    # 16:30 UTC on 30 November is already 1 December in Shanghai: a December rating.
    evening, _ = _rated(app, authority, "satisfied", dt.datetime(2026, 11, 30, 16, 30, tzinfo=dt.UTC))
    assert evening.month == "2026-12"
    # Another authority's rating is in the administrators' report only.
    _rated(app, data.bureau(app, name="临港新片区管委会（评价）"), "satisfied", dt.date(2026, 12, 3))

    rows = ratings.report(officer, dt.date(2026, 12, 28))
    keys = [(r.month, r.matter) for r in rows]
    assert keys == [("2026-12", "mail"), ("2026-12", "first_issue"), ("2026-11", "first_issue")]
    mailed, december, november = rows
    assert (mailed.total, mailed.bad, mailed.counts[RatingLevel.BASIC], mailed.on_time_share) == (1, 0, 1, None)
    assert (december.counts[RatingLevel.VERY_DISSATISFIED], december.counts[RatingLevel.SATISFIED]) == (1, 1)
    assert (december.total, december.bad, december.bad_share) == (2, 1, 0.5)
    assert (december.follow_ups, december.on_time, december.late, december.overdue) == (1, 0, 0, 1)
    assert december.on_time_share == 0.0
    assert november.counts == {
        RatingLevel.VERY_SATISFIED: 1,
        RatingLevel.SATISFIED: 0,
        RatingLevel.BASIC: 0,
        RatingLevel.DISSATISFIED: 2,
        RatingLevel.VERY_DISSATISFIED: 0,
    }
    assert (november.total, november.bad, november.follow_ups, november.on_time, november.late) == (3, 2, 2, 1, 1)
    assert november.bad_share == pytest.approx(2 / 3)
    assert november.on_time_share == 0.5

    admin = staff(Role.ADMIN)
    everyone = ratings.report(admin, dt.date(2026, 12, 28))
    assert sum(r.total for r in everyone) == sum(r.total for r in rows) + 1

    table = list(csv.reader(io.StringIO(ratings.report_csv(rows).lstrip("\ufeff"))))
    assert table[0][:7] == ["月份", "事项", "非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    assert table[0][7:] == [
        "评价数",
        "差评数",
        "差评率",
        "差评整改数",
        "按期办结",
        "逾期办结",
        "超期未办结",
        "按期办结率",
    ]
    assert table[2] == [
        "2026-12",
        "首次发证",
        "0",
        "1",
        "0",
        "0",
        "1",
        "2",
        "1",
        "50.0%",
        "1",
        "0",
        "0",
        "1",
        "0.0%",
    ]
    assert table[3] == [
        "2026-11",
        "首次发证",
        "1",
        "0",
        "0",
        "2",
        "0",
        "3",
        "2",
        "66.7%",
        "2",
        "1",
        "1",
        "0",
        "50.0%",
    ]
    assert table[1][-1] == ""  # no follow-up: no on-time share
