"""What training tells staff: a trainee's account flagged for review (sent through opcert.notifications)."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from opcert.access import Role
from opcert.accounts.models import User
from opcert.extensions import db
from opcert.notifications.kinds import register_kinds
from opcert.notifications.services import notify
from opcert.training.models import Course, Enrolment

FLAGGED_KIND = "training_flagged"
register_kinds({FLAGGED_KIND: _l("学员待复核")})


def flag_reviewers(trainee: User) -> list[User]:
    """Who may review the trainee's flag (the record page's viewers): active staff of the providers whose courses
    the trainee is enrolled in, and active administrators."""
    providers = sa.select(Course.provider_id).join(Enrolment).where(Enrolment.trainee_id == trainee.id)
    query = (
        sa.select(User)
        .where(
            User.is_active.is_(True),
            sa.or_(
                User.role == Role.ADMIN,
                sa.and_(User.role == Role.PROVIDER, User.organisation_id.in_(providers)),
            ),
        )
        .order_by(User.id)
    )
    return list(db.session.execute(query).scalars())


def tell_flagged(trainee: User, failures: int) -> None:
    """Tell the reviewers that the trainee's account waits for their review (in the flag's transaction)."""
    for reviewer in flag_reviewers(trainee):
        notify(
            user_id=reviewer.id,
            kind=FLAGGED_KIND,
            subject=_("学员学习账号待复核"),
            body=_(
                "学员%(name)s学习期间人脸核验连续%(n)d次未通过，账号已标记待复核，复核前不能预约考试。"
                "请在“学员培训记录”中查看核验记录并处理。",
                name=trainee.real_name,
                n=failures,
            ),
        )
