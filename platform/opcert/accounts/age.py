"""Age conditions from the resident ID number, shared by every domain that admits trainees (training, exams)."""

from __future__ import annotations

import datetime as dt

from flask import current_app
from flask_babel import gettext as _

from opcert.accounts.idnumber import IdNumberError, parse_id_number
from opcert.accounts.models import User


def age_problem(trainee: User, on: dt.date) -> str | None:
    """At least MIN_AGE and below the statutory retirement age (by sex) on the day `on`, else why not."""
    try:
        parsed = parse_id_number(trainee.id_number or "", today=on)
    except IdNumberError:
        return str(_("身份证号码无法核验年龄，请联系考点核对身份信息。"))
    age = parsed.age_on(on)
    minimum = int(current_app.config["MIN_AGE"])
    if age < minimum:
        return str(_("考试当日未满%(n)d周岁，不能参加特种作业考试。", n=minimum))
    key = "EXAM_RETIREMENT_AGE_MALE" if parsed.sex == "M" else "EXAM_RETIREMENT_AGE_FEMALE"
    retirement = int(current_app.config[key])
    if age >= retirement:
        return str(_("考试当日已达到法定退休年龄（%(n)d周岁），不能申请特种作业操作证。", n=retirement))
    return None
