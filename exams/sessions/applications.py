"""The trainee's side before booking: the signed commitment (告知承诺) and the exam application (60-day rule)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from exams.sessions.errors import BookingError
from exams.sessions.models import Commitment, ExamApplication, ExamSession
from opcert.accounts.models import User
from opcert.audit.services import record_event
from opcert.catalogue.models import Education, Item
from opcert.db import flush_unique, utcnow
from opcert.errors import DomainError
from opcert.extensions import db
from opcert.timeutil import show_datetime


def commitment_problems(
    *,
    trainee: User,
    healthy: bool,
    no_disqualifying_illness: bool,
    education: Education | None,
    lives_or_works_in_city: bool,
    truthful: bool,
    signed_name: str,
) -> dict[str, str]:
    """Every statement of the commitment the answers fail, field name → message (empty when all are affirmed)."""
    reasons: dict[str, str] = {}
    if not healthy:
        reasons["healthy"] = _("请确认本人身体健康。")
    if not no_disqualifying_illness:
        reasons["no_disqualifying_illness"] = _("请确认本人无妨碍从事特种作业的疾病和生理缺陷。")
    if education is None:
        reasons["education"] = _("初中以下学历不能申请特种作业操作证。")
    if not lives_or_works_in_city:
        reasons["lives_or_works_in_city"] = _("请确认本人在本市居住或工作。")
    if not truthful:
        reasons["truthful"] = _("请确认所填信息真实，并知悉虚假承诺的后果。")
    if signed_name.strip() != trainee.real_name:
        reasons["signed_name"] = _("签名须与实名登记的姓名一致。")
    return reasons


def sign_commitment(
    *,
    trainee: User,
    healthy: bool,
    no_disqualifying_illness: bool,
    education: Education | None,
    lives_or_works_in_city: bool,
    truthful: bool,
    signed_name: str,
    employer: str = "",
    ip: str = "",
) -> Commitment:
    """Record the trainee's commitment (告知承诺) for the current statement; every statement must be affirmed."""
    reasons = commitment_problems(
        trainee=trainee,
        healthy=healthy,
        no_disqualifying_illness=no_disqualifying_illness,
        education=education,
        lives_or_works_in_city=lives_or_works_in_city,
        truthful=truthful,
        signed_name=signed_name,
    )
    if reasons or education is None:
        raise DomainError(next(iter(reasons.values())), reasons)
    version = str(current_app.config["COMMITMENT_VERSION"])
    existing = db.session.execute(
        sa.select(Commitment).where(Commitment.trainee_id == trainee.id, Commitment.version == version)
    ).scalar_one_or_none()
    if existing is not None:
        raise DomainError.on_field(_("您已签署本版《告知承诺书》。"))
    row = Commitment(
        trainee_id=trainee.id,
        version=version,
        healthy=True,
        no_disqualifying_illness=True,
        education=education,
        lives_or_works_in_city=True,
        truthful=True,
        signed_name=trainee.real_name,
        employer=employer.strip()[:100],
        ip=ip[:45],
    )
    db.session.add(row)
    flush_unique(_("您已签署本版《告知承诺书》。"))
    record_event("exam.commitment_signed", object_type="exam_commitment", object_id=row.id)
    return row


def application_for(trainee: User, item: Item, now: dt.datetime) -> ExamApplication:
    """The trainee's application for the item, created on first booking; locked for this transaction."""
    query = (
        sa.select(ExamApplication)
        .where(ExamApplication.trainee_id == trainee.id, ExamApplication.item_id == item.id)
        .with_for_update()
    )
    row = db.session.execute(query).scalar_one_or_none()
    if row is not None:
        return row
    row = ExamApplication(trainee_id=trainee.id, item_id=item.id, applied_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        # The same trainee's other request created it a moment ago.
        return db.session.execute(query).scalar_one()
    return row


def apply_for_exam(*, trainee: User, item_id: int, now: dt.datetime | None = None) -> ExamApplication:
    """Apply (or apply again, once the last application's period is over) to be examined in an item."""
    now = now or utcnow()
    item = db.session.get(Item, item_id)
    if item is None or not item.offered:
        raise BookingError.on_field(_("该项目未开考。"), "item_id")
    row = application_for(trainee, item, now)
    days = int(current_app.config["EXAM_APPLICATION_DAYS"])
    if row.applied_at != now and row.applied_at + dt.timedelta(days=days) < now:
        row.applied_at = now
        db.session.flush()
    return row


def check_deadline(application: ExamApplication, session: ExamSession) -> None:
    """Refuse a session that starts later than EXAM_APPLICATION_DAYS after the application."""
    days = int(current_app.config["EXAM_APPLICATION_DAYS"])
    latest = application.applied_at + dt.timedelta(days=days)
    if session.starts_at > latest:
        raise BookingError.on_field(
            _(
                "考试须在报名之日起%(days)d日内进行：您的报名日期为%(applied)s，该场次开考时间超出期限（最晚%(latest)s）。",
                days=days,
                applied=show_datetime(application.applied_at),
                latest=show_datetime(latest),
            ),
            "session_id",
        )
