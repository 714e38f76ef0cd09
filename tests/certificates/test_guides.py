"""Service guides (办事指南): public pages per matter, edited by administrators through a form, every change kept
as a version with its date and editor; the public page shows the last change's date and the history."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask import Flask

from opcert.access import Role
from opcert.audit.models import AuditEvent
from opcert.certificates import guides
from opcert.certificates.authority_models import GuideVersion, Matter
from opcert.extensions import db as _db
from opcert.timeutil import local_today, show_date
from tests.factories import PASSWORD, staff
from tests.fixtures.web import login, submit, text

GUIDE = {
    "conditions": "年满18周岁；考试合格。",
    "materials": "无需提交材料。",
    "time_limit": "5个工作日内受理，20个工作日内决定。",
    "fees": "不收费。",
    "delivery": "电子证书；可免费邮寄。",
    "faq": "问：要去窗口吗？\n答：不需要，全程网上办理。\n问：照片要上传吗？\n答：不需要。\n平台从统一照片库调取。",
}


def _admin_client(app: Flask):
    with app.app_context():
        admin = staff(Role.ADMIN)
        account, secret, name = admin.login_name, admin.totp_secret, admin.real_name
    client = app.test_client()
    assert login(client, account, PASSWORD, secret).status_code == 302
    return client, name


def test_questions_and_answers_are_read_line_by_line() -> None:
    assert guides.faq_pairs(GUIDE["faq"]) == [
        ("要去窗口吗？", "不需要，全程网上办理。"),
        ("照片要上传吗？", "不需要。\n平台从统一照片库调取。"),
    ]
    assert guides.faq_pairs("没有问答格式的文字") == []


def test_every_save_is_a_new_version_and_bad_input_is_refused(app: Flask, db) -> None:
    editor = staff(Role.ADMIN)
    first = guides.save_guide(matter=Matter.REVIEW, text=guides.GuideText(**GUIDE), note="首次发布", editor=editor)
    with pytest.raises(guides.GuideError, match="内容没有变化"):
        guides.save_guide(matter=Matter.REVIEW, text=guides.GuideText(**GUIDE), note="", editor=editor)
    with pytest.raises(guides.GuideError, match="请填写“申请材料”") as refused:
        guides.save_guide(
            matter=Matter.REVIEW, text=guides.GuideText(**{**GUIDE, "materials": " "}), note="", editor=editor
        )
    assert set(refused.value.reasons) == {"materials"}
    with pytest.raises(guides.GuideError, match="常见问题请按"):
        guides.save_guide(
            matter=Matter.REVIEW, text=guides.GuideText(**{**GUIDE, "faq": "随便写"}), note="", editor=editor
        )
    second = guides.save_guide(
        matter=Matter.REVIEW, text=guides.GuideText(**{**GUIDE, "fees": "免费。"}), note="改写收费", editor=editor
    )
    db.session.commit()
    assert (first.number, second.number) == (1, 2)
    assert guides.current_version(Matter.REVIEW).fees == "免费。"
    assert guides.version_of(Matter.REVIEW, 1).fees == "不收费。"  # the old text is kept as it was
    assert db.session.execute(sa.select(sa.func.count()).select_from(GuideVersion)).scalar_one() == 2
    saved = sa.select(AuditEvent.details).where(AuditEvent.action == "certificate.guide_saved")
    assert len(db.session.execute(saved).all()) == 2


def test_the_demo_guides_cover_every_matter_in_chinese_and_ask_for_nothing_held(app: Flask, db) -> None:
    assert guides.seed_guides() == len(Matter)
    assert guides.seed_guides() == 0  # a rerun keeps what administrators wrote
    for matter in Matter:
        version = guides.current_version(matter)
        assert version is not None
        assert version.fees == "不收费。"
        assert "无需提交" in version.materials
        assert guides.faq_pairs(version.faq)


def test_the_public_page_and_the_editors_form(app: Flask, client) -> None:
    assert "尚未发布" in text(client.get("/guides"))
    assert "本事项的办事指南尚未发布" in text(client.get("/guides/reissue"))
    assert client.get("/guides/nonsense").status_code == 404
    assert client.get("/guides/reissue/v1").status_code == 404
    assert client.get("/admin/guides/reissue").status_code == 302  # to the login page
    admin, name = _admin_client(app)
    page = "/admin/guides/reissue"
    assert "尚未发布，保存后成为第1版" in text(admin.get(page))
    missing = text(submit(admin, page, {**GUIDE, "conditions": ""}, page=page))
    assert "请填写“申请条件”" in missing
    assert submit(admin, page, {**GUIDE, "note": "首次发布"}, page=page).status_code == 302
    assert "内容没有变化" in text(submit(admin, page, GUIDE, page=page))
    changed = {**GUIDE, "time_limit": "3个工作日内补发。", "note": "压缩时限"}
    assert submit(admin, page, changed, page=page).status_code == 302
    assert admin.get("/admin/guides/nonsense").status_code == 404

    public = text(client.get("/guides/reissue"))
    with app.test_request_context():
        today = show_date(local_today())
    assert f"现行第2版，最近修改：{today}" in public
    assert "3个工作日内补发。" in public
    assert "要去窗口吗？" in public
    assert "不需要，全程网上办理。" in public
    for line in ("第1版", "第2版", "压缩时限", "首次发布", name):
        assert line in public
    old = text(client.get("/guides/reissue/v1"))
    assert "这是第1版" in old
    assert "5个工作日内受理" in old
    assert "3个工作日内补发。" not in old
    assert f"最近修改：{today}" in text(client.get("/guides"))
    with app.app_context():
        versions = _db.session.execute(sa.select(GuideVersion).order_by(GuideVersion.number)).scalars().all()
        assert [v.change_note for v in versions] == ["首次发布", "压缩时限"]
        assert all(v.edited_at.date() >= dt.date(2026, 1, 1) for v in versions)
