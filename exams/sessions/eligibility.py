"""Eligibility to book an exam: one service, so later rules (study hours, face checks) join the same list.

Each check returns a message when the trainee fails it; `check_eligibility` raises them all at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from exams.sessions.models import Commitment, ExamPart
from opcert.accounts.age import age_problem
from opcert.accounts.models import User
from opcert.catalogue.models import Education, Item
from opcert.catalogue.services import item_offered_problem
from opcert.errors import DomainError
from opcert.extensions import db
from opcert.training.services import training_shortfall

EDUCATION_RANK = {Education.JUNIOR: 1, Education.SENIOR: 2}


class IneligibleError(DomainError):
    """The trainee does not (yet) meet the conditions to sit the exam; `reasons` name each unmet one."""


Check = Callable[[User, Item, dt.date], "str | None"]
PartCheck = Callable[[User, Item, dt.date, ExamPart], "str | None"]


def current_commitment(trainee: User) -> Commitment | None:
    """The trainee's commitment for the current statement version, if signed."""
    version = str(current_app.config["COMMITMENT_VERSION"])
    query = sa.select(Commitment).where(Commitment.trainee_id == trainee.id, Commitment.version == version)
    return db.session.execute(query).scalars().first()


def check_age(trainee: User, item: Item, exam_day: dt.date) -> str | None:
    """At least MIN_AGE and below the statutory retirement age (by sex) on the exam day, from the ID number."""
    return age_problem(trainee, exam_day)


def check_item_offered(trainee: User, item: Item, exam_day: dt.date) -> str | None:
    """The item is one this deployment examines."""
    return item_offered_problem(item)


def check_commitment(trainee: User, item: Item, exam_day: dt.date) -> str | None:
    """The current commitment (告知承诺) is signed, with an education level the item accepts."""
    commitment = current_commitment(trainee)
    if commitment is None:
        return str(
            _("请先签署《告知承诺书》（身体健康、无妨碍从事特种作业的疾病、学历、在本市居住或工作、信息真实）。")
        )
    if EDUCATION_RANK[commitment.education] < EDUCATION_RANK[item.education]:
        return str(_("“%(item)s”要求%(level)s学历，您承诺的学历不符合。", item=item.name, level=item.education.label))
    return None


def check_training(trainee: User, item: Item, exam_day: dt.date) -> str | None:
    """Required training hours reached and face checks in order (training's own verdict), when TRAINING_REQUIRED."""
    if not current_app.config["TRAINING_REQUIRED"]:
        return None
    missing = training_shortfall(trainee, item, exam_day)
    return "；".join(message.rstrip("。") for message in missing) + "。" if missing else None


def check_results(trainee: User, item: Item, exam_day: dt.date, part: ExamPart) -> str | None:
    """Earlier results allow this part: theory passed and valid before the practical, no retraining due."""
    from exams.results.services import booking_problem  # results builds on sessions' models: import when asked

    return booking_problem(person_id=trainee.id, item=item, part=part, on=exam_day)


CHECKS: list[Check] = [check_age, check_item_offered, check_commitment, check_training]
# Checks that depend on the part of the exam being booked.
PART_CHECKS: list[PartCheck] = [check_results]


def eligibility_problems(
    *, trainee: User, item: Item, exam_day: dt.date, part: ExamPart = ExamPart.THEORY
) -> list[str]:
    """Every unmet condition, in order, as Chinese messages (empty: eligible)."""
    problems = [message for check in CHECKS if (message := check(trainee, item, exam_day)) is not None]
    problems += [message for check in PART_CHECKS if (message := check(trainee, item, exam_day, part)) is not None]
    return problems


def check_eligibility(*, trainee: User, item: Item, exam_day: dt.date, part: ExamPart = ExamPart.THEORY) -> None:
    """Raise IneligibleError listing every unmet condition for sitting `part` of `item` on `exam_day`."""
    problems = eligibility_problems(trainee=trainee, item=item, exam_day=exam_day, part=part)
    if problems:
        raise IneligibleError(problems[0], {f"eligibility_{n}": p for n, p in enumerate(problems)})
