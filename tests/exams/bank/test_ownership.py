"""Question-bank ownership (decision 0002): providers change only their own organisation's questions, see the rest
read-only and get a 403 with the reason for any change to them; administrators change every question."""

from __future__ import annotations

import dataclasses
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from exams.bank import services
from exams.bank.models import Question, QuestionStatus
from opcert.access import Role
from opcert.accounts.models import OrgKind
from opcert.audit.models import AuditEvent
from opcert.extensions import db
from tests.exams.bank.bank_data import catalogue_item, csv_bytes, tf_row
from tests.factories import organisation
from tests.fixtures.faces import IDENTITIES
from tests.fixtures.web import logged_in_client, submit, text

REFUSAL = "这道题由其他单位录入，您只能查看，不能修改。"
PHOTO = IDENTITIES / "ageitgey__alex_lacamoire" / "1.jpg"
EDIT_FORM = {"kind": "true_false", "answer": "对", "difficulty": "2", "status": "active"}


def providers(app: Flask) -> tuple[int, int]:
    """Ids of two training-provider organisations."""
    with app.app_context():
        return organisation(OrgKind.TRAINING_PROVIDER).id, organisation(OrgKind.TRAINING_PROVIDER).id


def import_page(app: Flask, client: FlaskClient, item_id: int, stem: str) -> int:
    """Import one true/false question through the import page; return its id."""
    url = f"/admin/bank/items/{item_id}/import"
    response = submit(client, url, {"file": (io.BytesIO(csv_bytes([tf_row(stem)])), "q.csv")}, page=url)
    assert response.status_code == 302, text(response)
    with app.app_context():
        question_id: int = db.session.execute(sa.select(Question.id).where(Question.stem == stem)).scalar_one()
    return question_id


def question(app: Flask, question_id: int) -> tuple[str, QuestionStatus, str | None, int | None]:
    """(stem, status, image key, owner) as stored."""
    with app.app_context():
        stored = db.session.get(Question, question_id)
        assert stored is not None
        return stored.stem, stored.status, stored.image_key, stored.organisation_id


def audit_details(action: str) -> list[dict[str, Any]]:
    """The details of every audit event of `action`, oldest first (call inside an app context)."""
    query = sa.select(AuditEvent.details).where(AuditEvent.action == action).order_by(AuditEvent.id)
    return [json.loads(d) for d in db.session.execute(query).scalars()]


@dataclasses.dataclass(frozen=True)
class Bank:
    """An item's bank with a question of each provider (`a`, `b`) and one of the authority, and the providers'
    logged-in clients."""

    item: int
    ids: dict[str, int]
    clients: dict[str, FlaskClient]

    def __getitem__(self, name: str) -> int:
        return self.item if name == "item" else self.ids[name]


@pytest.fixture
def bank(app: Flask) -> Bank:
    """An item with one question imported by each of two providers (through the page) and one of the authority."""
    a, b = providers(app)
    with app.app_context():
        item_id = catalogue_item().id
        services.import_questions(item_id=item_id, filename="q.csv", data=csv_bytes([tf_row("机关题")]))
        db.session.commit()
        authority_q = db.session.execute(sa.select(Question.id)).scalar_one()
    client_a = logged_in_client(app, Role.PROVIDER, organisation_id=a)
    client_b = logged_in_client(app, Role.PROVIDER, organisation_id=b)
    qa, qb = import_page(app, client_a, item_id, "甲机构题"), import_page(app, client_b, item_id, "乙机构题")
    ids = {"a": a, "b": b, "qa": qa, "qb": qb, "authority_q": authority_q}
    return Bank(item=item_id, ids=ids, clients={"a": client_a, "b": client_b})


def test_an_import_records_the_importers_organisation(app: Flask, bank: Bank) -> None:
    assert question(app, bank["qa"])[3] == bank["a"]
    assert question(app, bank["qb"])[3] == bank["b"]
    assert question(app, bank["authority_q"])[3] is None
    with app.app_context():
        assert [d["organisation"] for d in audit_details("questions.imported")] == [None, bank["a"], bank["b"]]


@pytest.mark.parametrize(("who", "other"), [("a", "qb"), ("b", "qa"), ("a", "authority_q")])
def test_a_provider_is_refused_every_change_to_another_owners_question(
    app: Flask, bank: Bank, who: str, other: str
) -> None:
    client = bank.clients[who]
    question_id, item_id = bank[other], bank["item"]
    before = question(app, question_id)
    edit = f"/admin/bank/items/{item_id}/questions/{question_id}/edit"
    image = f"/admin/bank/questions/{question_id}/image"
    responses = {
        "edit": submit(client, edit, {**EDIT_FORM, "stem": "改过的题干"}, page=edit),
        "edit with a bad form": submit(client, edit, {}, page=edit),
        "retire": submit(client, f"/admin/bank/questions/{question_id}/status", {"status": "retired"}, page=edit),
        "image": submit(client, image, {"image": (io.BytesIO(PHOTO.read_bytes()), "photo.jpg")}, page=edit),
        "image without a file": submit(client, image, page=edit),
        "remove image": submit(client, f"{image}/remove", page=edit),
    }
    for name, response in responses.items():
        assert response.status_code == 403, name
        assert REFUSAL in text(response), name
    assert question(app, question_id) == before
    root = Path(app.config["QUESTION_IMAGE_DIR"])
    assert not root.is_dir() or not any(p.is_file() for p in root.rglob("*"))


@pytest.mark.parametrize(("who", "own"), [("a", "qa"), ("b", "qb")])
def test_a_provider_changes_its_own_questions(app: Flask, bank: Bank, who: str, own: str) -> None:
    client = bank.clients[who]
    question_id, item_id = bank[own], bank["item"]
    edit = f"/admin/bank/items/{item_id}/questions/{question_id}/edit"
    assert submit(client, edit, {**EDIT_FORM, "stem": f"{who}修订的题"}, page=edit).status_code == 302
    image = f"/admin/bank/questions/{question_id}/image"
    assert submit(client, image, {"image": (io.BytesIO(PHOTO.read_bytes()), "p.jpg")}, page=edit).status_code == 302
    status = f"/admin/bank/questions/{question_id}/status"
    assert submit(client, status, {"status": "retired"}, page=edit).status_code == 302
    stem, state, key, owner = question(app, question_id)
    assert (stem, state, owner) == (f"{who}修订的题", QuestionStatus.RETIRED, bank[who])
    assert key is not None
    assert submit(client, f"{image}/remove", page=edit).status_code == 302
    assert question(app, question_id)[2] is None


def test_an_administrator_changes_every_question(app: Flask, bank: Bank) -> None:
    admin = logged_in_client(app, Role.ADMIN)
    for name in ("qa", "qb", "authority_q"):
        question_id = bank[name]
        edit = f"/admin/bank/items/{bank['item']}/questions/{question_id}/edit"
        assert REFUSAL not in text(admin.get(edit))
        assert submit(admin, edit, {**EDIT_FORM, "stem": f"管理员改{name}"}, page=edit).status_code == 302
        status = f"/admin/bank/questions/{question_id}/status"
        assert submit(admin, status, {"status": "retired"}, page=edit).status_code == 302
        # An administrator's edit keeps the owner: the question stays the provider's (or the authority's).
        owner = {"qa": bank["a"], "qb": bank["b"], "authority_q": None}[name]
        assert question(app, question_id) == (f"管理员改{name}", QuestionStatus.RETIRED, None, owner)


def test_new_questions_belong_to_their_creators_organisation(app: Flask, bank: Bank) -> None:
    url = f"/admin/bank/items/{bank['item']}/questions/new"
    provider = bank.clients["a"]
    admin = logged_in_client(app, Role.ADMIN)
    assert submit(provider, url, {**EDIT_FORM, "stem": "甲新建的题"}, page=url).status_code == 302
    assert submit(admin, url, {**EDIT_FORM, "stem": "管理员新建的题"}, page=url).status_code == 302
    with app.app_context():
        owners = dict(
            db.session.execute(
                sa.select(Question.stem, Question.organisation_id).where(Question.stem.like("%新建的题"))
            ).all()
        )
        assert [d["organisation"] for d in audit_details("question.created")] == [bank["a"], None]
    assert owners == {"甲新建的题": bank["a"], "管理员新建的题": None}


def test_others_questions_are_shown_read_only(app: Flask, bank: Bank) -> None:
    client = bank.clients["a"]
    item_id = bank["item"]
    page = text(client.get(f"/admin/bank/items/{item_id}"))
    # Every question is listed with its owner; controls only on the provider's own.
    assert all(stem in page for stem in ("甲机构题", "乙机构题", "机关题", "发证机关"))
    assert re.findall(r"/admin/bank/questions/(\d+)/status", page) == [str(bank["qa"])]
    assert page.count(">编辑</a>") == 1
    assert page.count(">查看</a>") == 2

    other = text(client.get(f"/admin/bank/items/{item_id}/questions/{bank['qb']}/edit"))
    assert "乙机构题" in other
    assert "只能查看，不能修改" in other
    assert 'name="stem"' not in other
    assert f"/admin/bank/questions/{bank['qb']}/image" not in other
    own = text(client.get(f"/admin/bank/items/{item_id}/questions/{bank['qa']}/edit"))
    assert 'name="stem"' in own
    assert f"/admin/bank/questions/{bank['qa']}/image" in own


def test_blueprints_and_sample_papers_use_every_owners_questions(app: Flask, bank: Bank) -> None:
    client = bank.clients["b"]
    with app.app_context():
        services.save_blueprint(
            item_id=bank["item"],
            rows=[services.RowSpec(services.QuestionKind.TRUE_FALSE, 3)],
            duration_minutes=30,
            pass_mark=2,
        )
        db.session.commit()
    url = f"/admin/bank/items/{bank['item']}/sample"
    response = submit(client, url, page=url)
    assert response.status_code == 302
    paper = text(client.get(response.headers["Location"]))
    assert all(stem in paper for stem in ("甲机构题", "乙机构题", "机关题"))


def test_can_manage_rules(db) -> None:
    a = organisation(OrgKind.TRAINING_PROVIDER).id
    b = organisation(OrgKind.TRAINING_PROVIDER).id
    owned, shared = Question(organisation_id=a), Question(organisation_id=None)
    assert services.can_manage(owned, role=Role.PROVIDER, organisation_id=a)
    assert not services.can_manage(owned, role=Role.PROVIDER, organisation_id=b)
    assert not services.can_manage(shared, role=Role.PROVIDER, organisation_id=a)
    assert not services.can_manage(shared, role=Role.PROVIDER, organisation_id=None)
    assert not services.can_manage(owned, role=Role.CENTRE_STAFF, organisation_id=a)
    assert services.can_manage(owned, role=Role.ADMIN, organisation_id=None)
    assert services.can_manage(shared, role=Role.ADMIN, organisation_id=None)
    with pytest.raises(services.QuestionOwnedElsewhereError, match=REFUSAL):
        services.check_can_manage(owned, role=Role.PROVIDER, organisation_id=b)


def test_cli_import_as_a_provider_or_the_authority(app: Flask, runner, tmp_path: Path) -> None:
    with app.app_context():
        catalogue_item()
        provider = organisation(OrgKind.TRAINING_PROVIDER).id
        centre = organisation(OrgKind.EXAM_CENTRE).id
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_bytes(csv_bytes([tf_row("命令行机关题")]))
    second.write_bytes(csv_bytes([tf_row("命令行机构题")]))
    assert runner.invoke(args=["exams", "import-questions", "1.2", str(first)]).exit_code == 0
    refused = runner.invoke(args=["exams", "import-questions", "1.2", str(second), "--organisation", str(centre)])
    assert refused.exit_code != 0
    assert f"题目只能归属于培训机构（编号{centre}不是培训机构）" in refused.output
    result = runner.invoke(args=["exams", "import-questions", "1.2", str(second), "--organisation", str(provider)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        owners = dict(db.session.execute(sa.select(Question.stem, Question.organisation_id)).all())
    assert owners == {"命令行机关题": None, "命令行机构题": provider}
