"""The commitment page shows every fault of a submission at once: the form's own and the rules'."""

from __future__ import annotations

import sqlalchemy as sa

from exams.sessions.models import Commitment
from opcert.extensions import db as _db
from tests.factories import PASSWORD, trainee
from tests.fixtures.web import login, submit, text


def test_a_submission_with_several_faults_shows_every_message(app) -> None:
    with app.app_context():
        account = trainee(name="李四").login_name
    client = app.test_client()
    login(client, account, PASSWORD)
    form = {"no_disqualifying_illness": "y", "lives_or_works_in_city": "y", "education": "", "signed_name": "李三"}
    response = submit(client, "/exams/commitment", form, page="/exams/commitment")
    assert response.status_code == 200
    page = text(response)
    assert "请选择学历" in page, "the form's own check"
    assert "请确认本人身体健康" in page, "a rule"
    assert "请确认所填信息真实" in page, "a rule"
    assert "签名须与实名登记的姓名一致" in page, "a rule on a field the form accepted"
    with app.app_context():
        assert _db.session.execute(sa.select(sa.func.count(Commitment.id))).scalar_one() == 0


def test_an_empty_signature_shows_the_form_message_only(app) -> None:
    with app.app_context():
        account = trainee(name="李四").login_name
    client = app.test_client()
    login(client, account, PASSWORD)
    response = submit(client, "/exams/commitment", {"education": "below"}, page="/exams/commitment")
    page = text(response)
    assert "请输入本人姓名作为签名" in page
    assert "签名须与实名登记的姓名一致" not in page
    assert "初中以下学历不能申请特种作业操作证" in page
    assert "请确认本人在本市居住或工作" in page
