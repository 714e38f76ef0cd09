"""Training on the home page: the trainee's study step (where they are), providers' and administrators' courses."""

from __future__ import annotations

from flask import current_app, url_for
from flask_babel import gettext as _

from opcert.access import Role
from opcert.accounts.models import User
from opcert.home import Card, Entry, Link, Step, register_panel
from opcert.training import evidence, services
from opcert.training.models import CourseStatus


def trainee_step(user: User) -> list[Step]:
    """Online training: enrol, then the hours credited and what is left."""
    page = url_for("training.my_training")
    progress = [services.course_progress(trainee=user, course=e.course) for e in services.enrolments(user)]
    if not progress and not current_app.config["TRAINING_REQUIRED"]:
        return []  # a deployment that does not require online training does not push it
    if not progress:
        detail = _("报名操作项目的在线培训课程，学满大纲学时（学习中随机进行人脸核验）后方可预约考试。")
        return [Step(_("在线培训"), False, detail, Link(_("去报名"), page))]
    best = max(progress, key=lambda p: p.counted)
    detail = _(
        "“%(course)s”：已计入%(counted)s，要求%(required)s，还差%(left)s；学习中人脸核验通过%(checks)d次。",
        course=best.course.title,
        counted=services.format_minutes(best.counted),
        required=services.format_minutes(best.required),
        left=services.format_minutes(best.left),
        checks=best.face_checks_passed,
    )
    return [Step(_("在线培训"), best.left == 0, detail, Link(_("继续学习"), page))]


def course_card(user: User) -> list[Card]:
    """Courses being written, waiting for approval, published; trainees whose flag waits for review."""
    courses = services.list_courses(viewer=user)
    waiting = [c for c in courses if c.status is CourseStatus.SUBMITTED]
    entries = [
        Entry(c.title, url_for("training.course", course_id=c.id), f"{c.item.name} · {c.status.label}")
        for c in (waiting or courses)[:5]
    ]
    parts = [_("%(n)d门课程待审核。", n=len(waiting))] if user.role is Role.ADMIN else []
    flagged = evidence.flagged_count(user)
    if flagged:
        parts.append(_("%(n)d名学员学习中人脸核验多次未通过，待复核。", n=flagged))
    return [
        Card(
            title=_("培训课程"),
            text="".join(str(part) for part in parts),
            entries=entries,
            links=(
                Link(_("全部课程"), url_for("training.list_courses")),
                Link(_("学员培训记录"), url_for("training.trainees")),
            ),
        )
    ]


def register_home_panels() -> None:
    """Register training's panels."""
    register_panel(Role.TRAINEE, trainee_step, order=15)
    register_panel(Role.PROVIDER, course_card, order=15)
    register_panel(Role.ADMIN, course_card, order=15)
