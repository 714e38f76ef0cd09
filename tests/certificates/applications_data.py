"""Test data for applications: a person who passed both exam parts of an item, the authority's officer."""

from __future__ import annotations

import datetime as dt

from flask import Flask

from exams.results import services as results
from exams.sessions.models import ExamPart
from opcert.access import Role
from opcert.accounts.models import Organisation, OrgKind, User
from opcert.catalogue.models import Item
from opcert.extensions import db
from tests.exams.practical import practical_data as pd
from tests.exams.sessions import sessions_data as sessions
from tests.factories import organisation, staff


def passed() -> tuple[User, Item]:
    """A candidate who passed the theory and the practical of a new item in the past weeks (committed)."""
    item = sessions.item()
    centre = sessions.centre()
    theory = pd.session(centre, item, ExamPart.THEORY, starts_in=dt.timedelta(days=-20))
    practical = pd.session(centre, item, ExamPart.PRACTICAL, starts_in=dt.timedelta(days=-5))
    user = pd.candidate()
    results.record_part_result(person_id=user.id, item_id=item.id, part=ExamPart.THEORY, score=86, session_id=theory.id)
    results.record_part_result(
        person_id=user.id, item_id=item.id, part=ExamPart.PRACTICAL, score=92.5, session_id=practical.id
    )
    results.publish_results(session_id=theory.id)
    results.publish_results(session_id=practical.id)
    db.session.commit()
    return user, item


def bureau(app: Flask, name: str = "上海市应急管理局（测试）") -> tuple[Organisation, User]:
    """The competent authority (set as CERT_APPLICATION_AUTHORITY) and one of its officers (committed)."""
    authority = organisation(OrgKind.AUTHORITY, name=name)
    app.config["CERT_APPLICATION_AUTHORITY"] = name
    return authority, staff(Role.OFFICER, org=authority)
