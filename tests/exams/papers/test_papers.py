"""Blueprints, paper generation (random per candidate, shuffled options, refusals) and item statistics."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import sqlalchemy as sa
from flask import Flask

from exams.bank import services
from exams.bank.models import Question, QuestionKind, QuestionStatus
from exams.papers import services as papers
from exams.papers.models import Paper, PaperAnswer
from opcert.access import Role
from opcert.catalogue.models import Item
from opcert.errors import DomainError
from opcert.extensions import db
from tests.exams.bank.bank_data import catalogue_item, csv_bytes, fill_bank, tf_row
from tests.factories import trainee
from tests.fixtures.web import logged_in_client, submit, text

RowSpec = services.RowSpec


def full_bank(item: Item) -> None:
    """More active questions than a 70 + 30 paper needs, plus drafts and retired ones that must never be drawn."""
    fill_bank(item, true_false=90, single=45)
    fill_bank(item, true_false=5, single=5, status="草稿")
    fill_bank(item, true_false=5, single=5, status="停用")


def test_default_blueprint_is_70_true_false_and_30_single(db) -> None:
    spec = services.effective_blueprint(catalogue_item())
    assert spec.rows == (RowSpec(QuestionKind.TRUE_FALSE, 70, 1), RowSpec(QuestionKind.SINGLE, 30, 1))
    assert (spec.duration_minutes, spec.pass_mark, spec.total_points, spec.stored) == (120, 80, 100, False)


def test_a_paper_follows_the_blueprint_with_active_questions_only(db) -> None:
    item = catalogue_item()
    full_bank(item)
    paper = papers.generate_paper(item_id=item.id, purpose="test")
    db.session.commit()
    shown = papers.paper_questions(paper)
    kinds = [pq.question.kind for pq in shown]
    assert Counter(kinds) == {QuestionKind.TRUE_FALSE: 70, QuestionKind.SINGLE: 30}
    assert kinds == sorted(kinds, key=papers.KIND_ORDER.index), "true/false first, then single choice"
    ids = [pq.question.id for pq in shown]
    assert len(set(ids)) == len(ids) == 100
    assert all(pq.question.status == QuestionStatus.ACTIVE for pq in shown)
    assert all(pq.question.item_id == item.id for pq in shown)
    assert (paper.total_points, paper.pass_mark, paper.duration_minutes) == (100, 80, 120)
    assert len(paper.seed) == 32


def test_options_are_shuffled_and_the_key_follows_them(db) -> None:
    item = catalogue_item()
    full_bank(item)
    letters: dict[int, set[str]] = {}
    for _n in range(8):
        for pq in papers.paper_questions(papers.generate_paper(item_id=item.id)):
            if pq.question.kind != QuestionKind.SINGLE:
                continue
            original = pq.question.option_list
            assert sorted(pq.options) == sorted(original)
            assert pq.options["ABCDEF".index(pq.answer)] == original["ABCDEF".index(pq.question.answer)]
            letters.setdefault(pq.question.id, set()).add(pq.answer)
    assert max(len(found) for found in letters.values()) >= 3
    assert sum(len(found) > 1 for found in letters.values()) > len(letters) // 2


def test_candidates_get_different_papers_and_a_seed_reproduces_one(db) -> None:
    item = catalogue_item()
    full_bank(item)
    first, second = trainee(), trainee()
    one = papers.generate_paper(item_id=item.id, candidate_id=first.id, purpose="exam")
    two = papers.generate_paper(item_id=item.id, candidate_id=second.id, purpose="exam")
    assert one.candidate_id == first.id
    assert two.candidate_id == second.id
    assert {e["id"] for e in one.entries} != {e["id"] for e in two.entries}
    again = papers.generate_paper(item_id=item.id, seed=one.seed)
    assert again.questions == one.questions


def test_refusal_when_the_bank_is_short_in_chinese(db) -> None:
    item = catalogue_item()
    fill_bank(item, true_false=70, single=12)
    fill_bank(item, single=20, status="草稿")
    with pytest.raises(papers.BankShortError) as caught:
        papers.generate_paper(item_id=item.id)
    assert caught.value.message == "题库中‘1.2 低压电工作业’的有效单选题只有12道，试卷需要30道"
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count(Paper.id))).scalar_one() == 0


def test_every_shortage_is_named(db) -> None:
    item = catalogue_item()
    fill_bank(item, true_false=3)
    with pytest.raises(papers.BankShortError) as caught:
        papers.generate_paper(item_id=item.id)
    assert caught.value.message == (
        "题库中‘1.2 低压电工作业’的有效判断题只有3道，试卷需要70道；"
        "题库中‘1.2 低压电工作业’的有效单选题只有0道，试卷需要30道"
    )


def test_blueprint_with_knowledge_points_and_points(db) -> None:
    item = catalogue_item()
    rows = [tf_row(f"电气{n}", point="电气安全") for n in range(6)] + [tf_row(f"其他{n}") for n in range(6)]
    services.import_questions(item_id=item.id, filename="q.csv", data=csv_bytes(rows))
    services.save_blueprint(
        item_id=item.id,
        rows=[
            RowSpec(QuestionKind.TRUE_FALSE, 4, 2, "电气安全"),
            RowSpec(QuestionKind.TRUE_FALSE, 6, 1),
            RowSpec(QuestionKind.SINGLE, 0, 1),
        ],
        duration_minutes=30,
        pass_mark=11,
    )
    db.session.commit()
    spec = services.effective_blueprint(item)
    assert spec.stored
    assert spec.total_points == 14
    assert len(spec.rows) == 2
    for _n in range(5):
        shown = papers.paper_questions(papers.generate_paper(item_id=item.id))
        assert len({pq.question.id for pq in shown}) == 10
        assert sum(pq.question.knowledge_point == "电气安全" for pq in shown) >= 4
        assert sum(pq.points for pq in shown) == 14
    services.save_blueprint(
        item_id=item.id, rows=[RowSpec(QuestionKind.TRUE_FALSE, 7, 1, "电气安全")], duration_minutes=30, pass_mark=5
    )
    with pytest.raises(papers.BankShortError) as caught:
        papers.generate_paper(item_id=item.id)
    assert caught.value.message == "题库中‘1.2 低压电工作业’知识点‘电气安全’的有效判断题只有6道，试卷需要7道"


def test_blueprint_rules(db) -> None:
    item = catalogue_item()
    with pytest.raises(DomainError) as caught:
        services.save_blueprint(
            item_id=item.id,
            rows=[RowSpec(QuestionKind.SINGLE, 10, 1), RowSpec(QuestionKind.SINGLE, 5, 1)],
            duration_minutes=5,
            pass_mark=90,
        )
    assert caught.value.reasons == {
        "rows": "同一题型和知识点只能设置一行。",
        "duration_minutes": "考试时长应在10至600分钟之间。",
        "pass_mark": "合格分应在1至试卷总分（15分）之间。",
    }
    with pytest.raises(DomainError) as caught:
        services.save_blueprint(item_id=item.id, rows=[], duration_minutes=60, pass_mark=1)
    assert caught.value.reasons["rows"] == "试卷至少需要一道题。"


def test_recorded_answers_are_mapped_back_through_the_shuffle(db) -> None:
    item = catalogue_item()
    full_bank(item)
    paper = papers.generate_paper(item_id=item.id)
    shown = papers.paper_questions(paper)
    answers = {pq.question.id: pq.answer for pq in shown[:80]}
    wrong = shown[80]
    answers[wrong.question.id] = "ABCD".replace(wrong.answer, "")[0]
    recorded = papers.record_answers(paper_id=paper.id, answers=answers)
    db.session.commit()
    assert len(recorded) == 100
    by_question = {r.question_id: r for r in recorded}
    assert all(by_question[pq.question.id].chosen == pq.question.answer for pq in shown[:80])
    assert by_question[wrong.question.id].correct is False
    assert by_question[shown[99].question.id].chosen == ""
    assert papers.paper_score(paper.id) == 80
    with pytest.raises(DomainError, match="不能重复记录"):
        papers.record_answers(paper_id=paper.id, answers={})


def test_record_answers_refuses_foreign_questions(db) -> None:
    item = catalogue_item()
    full_bank(item)
    paper = papers.generate_paper(item_id=item.id)
    outside = (
        db.session.execute(sa.select(Question.id).where(Question.status == QuestionStatus.DRAFT)).scalars().first()
    )
    with pytest.raises(DomainError, match="不在这份试卷中"):
        papers.record_answers(paper_id=paper.id, answers={outside: "T"})


# --- statistics on a hand-made set ----------------------------------------------------------------------------
# Five true/false questions q1..q5 (one per knowledge point), q1-q3 worth 10 points and q4-q5 worth 1, so that the
# six papers' scores put A and B clearly on top and E and F clearly at the bottom (27% of 6 papers = 2 each).
#            q1 q2 q3 q4 q5   score
#   A         1  1  1  1  0   31
#   B         1  1  0  1  0   21
#   C         1  0  0  1  1   12
#   D         1  0  0  1  1   12
#   E         0  0  0  1  1    2
#   F         0  0  0  1  1    2
# facility:   4/6 2/6 1/6 6/6 4/6;  discrimination (upper - lower): 1, 1, 0.5, 0, -1
PATTERNS = {
    "A": (1, 1, 1, 1, 0),
    "B": (1, 1, 0, 1, 0),
    "C": (1, 0, 0, 1, 1),
    "D": (1, 0, 0, 1, 1),
    "E": (0, 0, 0, 1, 1),
    "F": (0, 0, 0, 1, 1),
}


def test_item_statistics_on_known_answers(db) -> None:
    item = catalogue_item()
    rows = [tf_row(f"统计题{n}", "对", point=f"k{n}") for n in range(1, 6)]
    questions = sorted(
        services.import_questions(item_id=item.id, filename="q.csv", data=csv_bytes(rows)), key=lambda q: q.id
    )
    services.save_blueprint(
        item_id=item.id,
        rows=[RowSpec(QuestionKind.TRUE_FALSE, 1, 10 if n <= 3 else 1, f"k{n}") for n in range(1, 6)],
        duration_minutes=10,
        pass_mark=20,
    )
    for pattern in PATTERNS.values():
        paper = papers.generate_paper(item_id=item.id)
        answers = {q.id: ("T" if right else "F") for q, right in zip(questions, pattern, strict=True)}
        papers.record_answers(paper_id=paper.id, answers=answers)
    db.session.commit()
    scores = sorted(
        papers.paper_score(p) for p in db.session.execute(sa.select(PaperAnswer.paper_id).distinct()).scalars()
    )
    assert scores == [2, 2, 12, 12, 21, 31]

    report = {s.question.stem: s for s in services.item_statistics(item.id)}
    expected = {
        "统计题1": (4 / 6, 1.0, ()),
        "统计题2": (2 / 6, 1.0, ()),
        "统计题3": (1 / 6, 0.5, ("过难（通过率0.17）",)),
        "统计题4": (1.0, 0.0, ("过易（通过率1.00）", "区分度低（0.00）")),
        "统计题5": (4 / 6, -1.0, ("区分度低（-1.00）",)),
    }
    for stem, (facility, discrimination, flags) in expected.items():
        found = report[stem]
        assert found.answered == 6
        assert found.facility == pytest.approx(facility)
        assert found.discrimination == pytest.approx(discrimination)
        assert found.flags == flags
    assert [s.question.stem for s in report.values() if s.flagged] == ["统计题3", "统计题4", "统计题5"]


def test_thresholds_are_settings(app: Flask, db, monkeypatch) -> None:
    item = catalogue_item()
    services.import_questions(item_id=item.id, filename="q.csv", data=csv_bytes([tf_row("唯一题")]))
    item.theory_true_false, item.theory_single = 1, 0
    for right in (True, True, True, False):
        paper = papers.generate_paper(item_id=item.id)
        [pq] = papers.paper_questions(paper)
        papers.record_answers(paper_id=paper.id, answers={pq.question.id: "T" if right else "F"})
    [stat] = services.item_statistics(item.id)
    assert stat.facility == 0.75
    assert stat.discrimination == 1.0
    assert not stat.flagged
    monkeypatch.setitem(app.config, "QUESTION_FACILITY_MAX", 0.7)
    [stat] = services.item_statistics(item.id)
    assert stat.flags == ("过易（通过率0.75）",)


# --- pages ----------------------------------------------------------------------------------------------------


def test_blueprint_page(app: Flask) -> None:
    with app.app_context():
        item_id = catalogue_item().id
    client = logged_in_client(app, Role.ADMIN)
    url = f"/admin/bank/items/{item_id}/blueprint"
    page = text(client.get(url))
    assert 'value="70"' in page
    assert 'value="30"' in page
    assert 'value="120"' in page
    data = {
        "rows-0-kind": "true_false",
        "rows-0-knowledge_point": "",
        "rows-0-count": "50",
        "rows-0-points": "1",
        "rows-1-kind": "single",
        "rows-1-knowledge_point": "电气安全",
        "rows-1-count": "25",
        "rows-1-points": "2",
        "rows-2-kind": "multiple",
        "rows-2-count": "",
        "rows-2-points": "1",
        "duration_minutes": "90",
        "pass_mark": "85",
    }
    response = submit(client, url, {**data, "pass_mark": "120"}, page=url)
    assert "合格分应在1至试卷总分（100分）之间。" in text(response)
    response = submit(client, url, data, page=url)
    assert response.status_code == 302
    with app.app_context():
        spec = services.effective_blueprint(db.session.get(Item, item_id))
        assert spec.rows == (
            RowSpec(QuestionKind.TRUE_FALSE, 50, 1, ""),
            RowSpec(QuestionKind.SINGLE, 25, 2, "电气安全"),
        )
        assert (spec.duration_minutes, spec.pass_mark) == (90, 85)


def test_sample_paper_page_and_refusal(app: Flask) -> None:
    with app.app_context():
        item = catalogue_item()
        item_id = item.id
        fill_bank(item, true_false=70, single=29)
    client = logged_in_client(app, Role.PROVIDER)
    url = f"/admin/bank/items/{item_id}/sample"
    response = submit(client, url, page=url)
    assert "题库中‘1.2 低压电工作业’的有效单选题只有29道，试卷需要30道" in text(response)
    with app.app_context():
        fill_bank(db.session.get(Item, item_id), single=1, prefix="补充")
    response = submit(client, url, page=url)
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "共100题，总分100分，120分钟，80分合格。" in page
    assert page.count("答案：") == 100
    with app.app_context():
        paper = db.session.execute(sa.select(Paper)).scalar_one()
        assert paper.purpose == "sample"
        assert len(json.loads(paper.questions)) == 100


def test_statistics_page(app: Flask) -> None:
    with app.app_context():
        item = catalogue_item()
        item_id = item.id
        services.import_questions(item_id=item.id, filename="q.csv", data=csv_bytes([tf_row("唯一题")]))
        item.theory_true_false, item.theory_single = 1, 0
        for right in (True, True):
            paper = papers.generate_paper(item_id=item.id)
            [pq] = papers.paper_questions(paper)
            papers.record_answers(paper_id=paper.id, answers={pq.question.id: "T" if right else "F"})
        db.session.commit()
    client = logged_in_client(app, Role.ADMIN)
    page = text(client.get(f"/admin/bank/items/{item_id}/statistics"))
    assert "唯一题" in page
    assert "1.00" in page
    assert "过易（通过率1.00）" in page
