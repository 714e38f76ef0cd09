"""Certificates read passed exams from exams' results, through the one adapter, and print them on the certificate."""

from __future__ import annotations

import datetime as dt

from exams.results import services as results
from exams.sessions.models import ExamPart
from opcert.certificates import services
from opcert.certificates.sources import passed_exams
from opcert.timeutil import local
from tests.exams.practical import practical_data as pd
from tests.exams.sessions import sessions_data as sessions


def test_both_parts_passed_give_the_exam_record_the_certificate_keeps(db) -> None:
    item = sessions.item()
    centre = sessions.centre()
    theory = pd.session(centre, item, ExamPart.THEORY, starts_in=dt.timedelta(days=-20))
    practical = pd.session(centre, item, ExamPart.PRACTICAL, starts_in=dt.timedelta(days=-5))
    user = pd.candidate()
    today = local(practical.starts_at).date()
    results.record_part_result(person_id=user.id, item_id=item.id, part=ExamPart.THEORY, score=86, session_id=theory.id)
    results.publish_results(session_id=theory.id)
    assert passed_exams(user_id=user.id, item_id=item.id, on=today) is None  # the practical is still to pass
    results.record_part_result(
        person_id=user.id, item_id=item.id, part=ExamPart.PRACTICAL, score=92.5, session_id=practical.id
    )
    assert passed_exams(user_id=user.id, item_id=item.id, on=today) is None  # passed, but not yet published
    assert results.qualification(user.id, item.id, today) is not None  # (the exam side knows it already)
    results.publish_results(session_id=practical.id)
    record = passed_exams(user_id=user.id, item_id=item.id, on=today)
    assert record is not None
    assert (record.theory_score, record.practical_score) == (86.0, 92.5)
    assert (record.theory_session_id, record.practical_session_id) == (theory.id, practical.id)
    assert record.theory_date == local(theory.starts_at).date()
    issued = services.issue_certificate(user=user, item=item, exams=record, actor_id=None)
    db.session.commit()
    certificate = issued.certificate
    assert (float(certificate.theory_score), float(certificate.practical_score)) == (86.0, 92.5)
    assert certificate.practical_session_id == practical.id
