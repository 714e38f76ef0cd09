"""Training rules: courses and lessons (provider writes, administrator publishes), enrolment, progress and the
one question exams asks: `training_shortfall` (what is missing before booking)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from opcert.access import Role
from opcert.accounts.age import age_problem
from opcert.accounts.models import User
from opcert.audit.services import record_event
from opcert.catalogue.models import Item
from opcert.catalogue.services import get_item, item_offered_problem, offered_items
from opcert.db import flush_unique, utcnow
from opcert.errors import DomainError, NotFoundError
from opcert.extensions import db
from opcert.training import media
from opcert.training.models import (
    COURSE_TRANSITIONS,
    EDITABLE,
    Course,
    CoursePurpose,
    CourseStatus,
    Enrolment,
    IntervalStatus,
    Lesson,
    LessonKind,
    StudyInterval,
    StudyLease,
)
from opcert.training.richtext import sanitise_html


class CourseError(DomainError):
    """A course or lesson change that the rules refuse."""


class EnrolmentError(DomainError):
    """The trainee cannot enrol in the course."""


def required_minutes(item: Item, purpose: CoursePurpose) -> int:
    """The syllabus minutes a course must hold: the item's theory hours (initial), or its review hours (复审) but at
    least CERT_REVIEW_TRAINING_HOURS, the review training a renewal asks for (the law: no less than 8 hours). The
    renewal counts against the same figure, so a complete review course always suffices."""
    if purpose is CoursePurpose.INITIAL:
        return item.theory_hours * 60
    return max(item.review_hours, int(current_app.config["CERT_REVIEW_TRAINING_HOURS"])) * 60


# --- courses (providers write, administrators publish) ---------------------------------------------


def visible_course(*, viewer: User, course_id: int) -> Course:
    """A course the viewer may manage: providers their own organisation's, administrators every one (else 404)."""
    course = db.session.get(Course, course_id)
    if course is None:
        raise NotFoundError(_("课程不存在。"))
    if viewer.role is Role.ADMIN:
        return course
    if viewer.role is Role.PROVIDER and viewer.organisation_id == course.provider_id:
        return course
    raise NotFoundError(_("课程不存在。"))


def list_courses(*, viewer: User) -> list[Course]:
    """The courses the viewer manages, newest first."""
    query = sa.select(Course).options(selectinload(Course.lessons)).order_by(Course.id.desc())
    if viewer.role is not Role.ADMIN:
        query = query.where(Course.provider_id == (viewer.organisation_id or -1))
    return list(db.session.execute(query).scalars())


def create_course(*, author: User, item_id: int, purpose: CoursePurpose, title: str, description: str) -> Course:
    """A new draft course of the author's training provider for an operation item."""
    if author.role is not Role.PROVIDER or author.organisation_id is None:
        raise CourseError.on_field(_("只有培训机构人员可以编写课程。"))
    item = get_item(item_id)
    title = title.strip()
    if not title:
        raise CourseError.on_field(_("请填写课程名称。"), "title")
    course = Course(
        provider_id=author.organisation_id,
        item_id=item.id,
        purpose=purpose,
        title=title,
        description=description.strip(),
    )
    db.session.add(course)
    db.session.flush()
    record_event("training.course_created", object_type="course", object_id=course.id, details={"item": item.code})
    return course


def _lock_for_edit(course: Course) -> None:
    """Lock the course row until the commit and reload its status and lessons: lesson changes sent at once (a
    double click, two tabs) run one after the other, each on what the previous wrote (SQLite: BEGIN IMMEDIATE)."""
    db.session.refresh(course, attribute_names=["status"], with_for_update=True)
    lessons = db.session.execute(
        sa.select(Lesson)
        .where(Lesson.course_id == course.id)
        .order_by(Lesson.position)
        .execution_options(populate_existing=True)
    ).scalars()
    set_committed_value(course, "lessons", list(lessons))
    if course.status not in EDITABLE:
        raise CourseError.on_field(_("课程已提交审核或已发布，不能再修改。"))


def _renumber(course: Course, ordered: list[Lesson]) -> None:
    """Give the lessons positions 1..n in this order (two passes: the unique (course, position) never sees a
    duplicate) and keep the course's list in that order."""
    for position, row in enumerate(ordered, start=1):
        row.position = -position
    db.session.flush()
    for row in ordered:
        row.position = -row.position
    db.session.flush()
    set_committed_value(course, "lessons", ordered)


@dataclasses.dataclass(frozen=True)
class LessonDraft:
    """A lesson as the provider wrote it: text for a text lesson, the uploaded bytes for a video or a PDF."""

    kind: LessonKind
    title: str
    minutes: int
    body: str = ""
    data: bytes = b""
    file_name: str = ""


def add_lesson(*, course: Course, draft: LessonDraft) -> Lesson:
    """Append a lesson; refused when its minutes would take the course past the item's syllabus hours."""
    _lock_for_edit(course)
    title = draft.title.strip()
    if not title:
        raise CourseError.on_field(_("请填写课时名称。"), "title")
    limit = required_minutes(course.item, course.purpose)
    left = limit - course.total_minutes
    if draft.minutes <= 0:
        raise CourseError.on_field(_("课时时长应大于0分钟。"), "minutes")
    if draft.minutes > left:
        raise CourseError.on_field(
            _(
                "本课时%(minutes)d分钟超出大纲学时：“%(item)s”的课程共%(limit)d分钟，还可安排%(left)d分钟。",
                minutes=draft.minutes,
                item=course.item.name,
                limit=limit,
                left=max(left, 0),
            ),
            "minutes",
        )
    lesson = Lesson(position=len(course.lessons) + 1, kind=draft.kind, title=title, minutes=draft.minutes)
    if draft.kind is LessonKind.TEXT:
        lesson.body_html = sanitise_html(draft.body)
        if not lesson.body_html.strip():
            raise CourseError.on_field(_("请填写课时内容。"), "body")
    else:
        _attach_file(lesson, draft)
    lesson.course = course  # only now: a refused lesson never joins the course
    db.session.add(lesson)
    db.session.flush()
    record_event(
        "training.lesson_added",
        object_type="lesson",
        object_id=lesson.id,
        details={"course": course.id, "kind": lesson.kind.value, "minutes": lesson.minutes},
    )
    return lesson


def _attach_file(lesson: Lesson, draft: LessonDraft) -> None:
    """Check the upload (a PDF, or a decodable video at least as long as the lesson's minutes) and store it."""
    if not draft.data:
        raise CourseError.on_field(_("请上传课时文件。"), "upload")
    if draft.kind is LessonKind.PDF:
        media.check_pdf(draft.data)
    else:
        kind = media.video_type(draft.data)
        lesson.video_seconds = media.video_seconds(draft.data, kind)
        if draft.minutes * 60 > lesson.video_seconds:
            raise CourseError.on_field(
                _(
                    "视频时长%(seconds)d秒，不足所填的%(minutes)d分钟：视频课时按实际播放计时，不能超过视频长度。",
                    seconds=lesson.video_seconds,
                    minutes=draft.minutes,
                ),
                "minutes",
            )
    lesson.file_key = media.STORE.save(draft.data)
    lesson.file_name = draft.file_name[:120]
    lesson.file_size = len(draft.data)


def remove_lesson(*, course: Course, lesson_id: int) -> None:
    """Take a lesson out of a course being written (later lessons move up)."""
    _lock_for_edit(course)
    lesson = next((row for row in course.lessons if row.id == lesson_id), None)
    if lesson is None:
        raise NotFoundError(_("课时不存在。"))
    rest = [row for row in course.lessons if row is not lesson]
    set_committed_value(course, "lessons", rest)
    db.session.delete(lesson)
    db.session.flush()
    _renumber(course, rest)
    record_event("training.lesson_removed", object_type="lesson", object_id=lesson_id, details={"course": course.id})


def move_lesson(*, course: Course, lesson_id: int, position: int) -> bool:
    """Put a lesson of a course being written at `position` (1 = first; past the end = last), the others
    keeping their order. Idempotent: a lesson already there (a double click's second request) changes nothing.
    Whether it moved."""
    _lock_for_edit(course)
    lesson = next((row for row in course.lessons if row.id == lesson_id), None)
    if lesson is None:
        raise NotFoundError(_("课时不存在。"))
    if position < 1:
        raise CourseError.on_field(_("课时位置应为1或以上的整数。"), "position")
    position = min(position, len(course.lessons))
    before = lesson.position
    if position == before:
        return False
    ordered = [row for row in course.lessons if row is not lesson]
    ordered.insert(position - 1, lesson)
    _renumber(course, ordered)
    record_event(
        "training.lesson_moved",
        object_type="lesson",
        object_id=lesson.id,
        details={"course": course.id, "from_position": before, "to_position": position},
    )
    return True


def _move(course: Course, target: CourseStatus) -> None:
    if target not in COURSE_TRANSITIONS[course.status]:
        raise CourseError.on_field(
            _("课程当前为“%(status)s”，不能变为“%(target)s”。", status=course.status.label, target=target.label)
        )
    course.status = target


def submit_course(*, course: Course) -> None:
    """Send a complete course (its lessons reach the item's syllabus hours) to the administrators."""
    needed = required_minutes(course.item, course.purpose)
    if course.total_minutes < needed:
        raise CourseError.on_field(
            _(
                "课程共%(total)d分钟，未达到“%(item)s”大纲要求的%(needed)d分钟，不能提交。",
                total=course.total_minutes,
                item=course.item.name,
                needed=needed,
            )
        )
    _move(course, CourseStatus.SUBMITTED)
    course.submitted_at = utcnow()
    record_event("training.course_submitted", object_type="course", object_id=course.id)


def review_course(*, course: Course, approve: bool, note: str) -> None:
    """An administrator publishes a submitted course, or returns it to the provider with a note."""
    _move(course, CourseStatus.PUBLISHED if approve else CourseStatus.RETURNED)
    course.review_note = note.strip()[:500]
    if approve:
        course.published_at = utcnow()
    action = "training.course_published" if approve else "training.course_returned"
    record_event(action, object_type="course", object_id=course.id, details={"note": course.review_note})


# --- lessons as trainees see them ------------------------------------------------------------------


def published_courses(item: Item | None = None) -> list[Course]:
    """Published courses (of one item), newest first."""
    query = sa.select(Course).where(Course.status == CourseStatus.PUBLISHED).order_by(Course.published_at.desc())
    if item is not None:
        query = query.where(Course.item_id == item.id)
    return list(db.session.execute(query).scalars())


def enrolments(trainee: User) -> list[Enrolment]:
    """The trainee's enrolments, oldest first."""
    query = sa.select(Enrolment).where(Enrolment.trainee_id == trainee.id).order_by(Enrolment.id)
    return list(db.session.execute(query).scalars())


def items_to_enrol(trainee: User) -> list[Item]:
    """The enrolment form's choices: offered items with a published initial course, less those whose initial
    training the trainee is enrolled in already (review training is enrolled from the certificate's renewal)."""
    enrolled = {e.course.item_id for e in enrolments(trainee) if e.course.purpose is CoursePurpose.INITIAL}
    return [
        item
        for item in offered_items()
        if item.id not in enrolled and any(c.purpose is CoursePurpose.INITIAL for c in published_courses(item))
    ]


def enrolled_item_ids(trainee_id: int) -> set[int]:
    """The items of the courses the trainee is enrolled in (practice puts them first)."""
    query = sa.select(Course.item_id).join(Enrolment, Enrolment.course_id == Course.id)
    return set(db.session.execute(query.where(Enrolment.trainee_id == trainee_id)).scalars())


def study_lesson(*, trainee: User, lesson_id: int) -> Lesson:
    """A lesson of a published course the trainee is enrolled in (anything else is 404)."""
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None or lesson.course.status is not CourseStatus.PUBLISHED or not is_enrolled(trainee, lesson.course):
        raise NotFoundError(_("课时不存在。"))
    return lesson


def is_enrolled(trainee: User, course: Course) -> bool:
    """Whether the trainee is enrolled in the course."""
    query = sa.select(Enrolment.id).where(Enrolment.trainee_id == trainee.id, Enrolment.course_id == course.id)
    return db.session.execute(query).first() is not None


def viewable_lesson(*, viewer: User, lesson_id: int) -> Lesson:
    """A lesson whose file the viewer may open: an enrolled trainee's, or one of a course the viewer manages."""
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None:
        raise NotFoundError(_("课时不存在。"))
    if viewer.role is Role.TRAINEE:
        return study_lesson(trainee=viewer, lesson_id=lesson_id)
    visible_course(viewer=viewer, course_id=lesson.course_id)
    return lesson


class MissingFileError(DomainError):
    """A lesson's file is gone from disk."""


def lesson_file(lesson: Lesson) -> tuple[str, str]:
    """The path of a lesson's file on disk and its media type; MissingFileError when it is not there."""
    if not lesson.file_key:
        raise NotFoundError(_("该课时没有文件。"))
    path = media.STORE.path_for(lesson.file_key)
    if not path.is_file():
        current_app.logger.error("lesson %s: file %s missing on disk", lesson.id, lesson.file_key)
        raise MissingFileError.on_field(_("该课时的文件在服务器上缺失，已记录。请联系培训机构重新上传。"))
    if lesson.kind is LessonKind.PDF:
        return str(path), "application/pdf"
    with path.open("rb") as fh:
        head = fh.read(16)
    return str(path), media.VIDEO_TYPES[media.video_type(head)]


# --- enrolment -------------------------------------------------------------------------------------


def enrolment_problems(*, trainee: User, item: Item, on: dt.date) -> list[str]:
    """Why the trainee cannot enrol for the item's training (the booking basics: item offered, age), else []."""
    problems = [item_offered_problem(item), age_problem(trainee, on)]
    if not published_courses(item):
        problems.append(str(_("“%(item)s”暂无已发布的培训课程。", item=item.name)))
    return [p for p in problems if p]


def _course_to_enrol(*, trainee: User, item: Item, on: dt.date, purpose: CoursePurpose) -> Course:
    """The item's published course of that purpose the trainee may enrol in; EnrolmentError saying why not."""
    problems = enrolment_problems(trainee=trainee, item=item, on=on)
    if problems:
        raise EnrolmentError(problems[0], {f"enrol_{n}": p for n, p in enumerate(problems)})
    course = next((c for c in published_courses(item) if c.purpose is purpose), None)
    if course is None:
        raise EnrolmentError.on_field(
            _("“%(item)s”暂无已发布的%(purpose)s课程。", item=item.name, purpose=purpose.label)
        )
    return course


def _enrolment_in(trainee: User, course: Course) -> Enrolment | None:
    query = sa.select(Enrolment).where(Enrolment.trainee_id == trainee.id, Enrolment.course_id == course.id)
    return db.session.execute(query).scalar_one_or_none()


@dataclasses.dataclass(frozen=True)
class EnrolmentStanding:
    """Where a trainee stands with an item's course of one purpose: enrolled already, free to enrol, or not (why,
    in Chinese): the rules `enrol` applies, for a page that offers the enrolment."""

    enrolled: bool
    problem: str = ""  # why the trainee cannot enrol ("" when enrolled or free to)

    @property
    def can_enrol(self) -> bool:
        return not self.enrolled and not self.problem


def enrolment_standing(*, trainee: User, item: Item, on: dt.date, purpose: CoursePurpose) -> EnrolmentStanding:
    """Whether the trainee is enrolled in the item's course of that purpose, may enrol, or why not."""
    if any(e.course.item_id == item.id and e.course.purpose is purpose for e in enrolments(trainee)):
        return EnrolmentStanding(enrolled=True)
    try:
        _course_to_enrol(trainee=trainee, item=item, on=on, purpose=purpose)
    except EnrolmentError as exc:
        return EnrolmentStanding(enrolled=False, problem=exc.message)
    return EnrolmentStanding(enrolled=False)


def enrol(*, trainee: User, item_id: int, on: dt.date, purpose: CoursePurpose = CoursePurpose.INITIAL) -> Enrolment:
    """Enrol the trainee in the item's published course of that purpose (initial training, or 复审 review)."""
    item = get_item(item_id)
    course = _course_to_enrol(trainee=trainee, item=item, on=on, purpose=purpose)
    existing = _enrolment_in(trainee, course)
    if existing is not None:
        return existing
    now = utcnow()
    enrolment = Enrolment(trainee_id=trainee.id, course_id=course.id, enrolled_at=now, counts_from=now)
    db.session.add(enrolment)
    flush_unique(_("您已报名该课程。"), error=EnrolmentError)
    record_event("training.enrolled", object_type="course", object_id=course.id, details={"item": item.code})
    return enrolment


# --- progress and eligibility ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LessonProgress:
    """A lesson's credited seconds (counted up to its syllabus minutes) and time not yet confirmed."""

    lesson: Lesson
    credited: int
    pending: int

    @property
    def counted(self) -> int:
        """Credited seconds that count towards the course (at most the lesson's minutes)."""
        return min(self.credited, self.lesson.minutes * 60)

    @property
    def done(self) -> bool:
        """Whether the lesson's syllabus minutes are all credited."""
        return self.counted >= self.lesson.minutes * 60


@dataclasses.dataclass(frozen=True)
class CourseProgress:
    """Where a trainee stands in one course: the time of the current round (`since`: its start) only."""

    course: Course
    lessons: list[LessonProgress]
    face_checks_passed: int
    since: dt.datetime | None = None

    @property
    def counted(self) -> int:
        """Seconds that count towards the syllabus."""
        return sum(p.counted for p in self.lessons)

    @property
    def required(self) -> int:
        """Seconds the syllabus requires."""
        return required_minutes(self.course.item, self.course.purpose) * 60

    @property
    def left(self) -> int:
        """Seconds still to study."""
        return max(self.required - self.counted, 0)

    @property
    def may_start_new_round(self) -> bool:
        """Whether the trainee may study the course again for the next review period (`start_new_round`)."""
        return self.course.purpose is CoursePurpose.REVIEW and self.since is not None and self.left == 0


def _seconds_by_lesson(
    trainee: User, lesson_ids: list[int], since: dt.datetime | None
) -> dict[tuple[int, IntervalStatus], int]:
    query = sa.select(StudyInterval.lesson_id, StudyInterval.status, sa.func.sum(StudyInterval.seconds)).where(
        StudyInterval.trainee_id == trainee.id, StudyInterval.lesson_id.in_(lesson_ids)
    )
    if since is not None:
        query = query.where(StudyInterval.started_at >= since)
    rows = db.session.execute(query.group_by(StudyInterval.lesson_id, StudyInterval.status)).all()
    return {(lesson_id, status): int(total or 0) for lesson_id, status, total in rows}


def enrolment_in(trainee: User, course: Course) -> Enrolment | None:
    """The trainee's enrolment in the course, if any."""
    query = sa.select(Enrolment).where(Enrolment.trainee_id == trainee.id, Enrolment.course_id == course.id)
    return db.session.execute(query).scalar_one_or_none()


def course_progress(*, trainee: User, course: Course, since: dt.datetime | None = None) -> CourseProgress:
    """Credited and pending seconds per lesson, and face checks passed, for one course: intervals that started, and
    checks asked for, in the enrolment's current round (and at or after `since` when given)."""
    from opcert.training.facechecks import passed_checks

    enrolment = enrolment_in(trainee, course)
    starts = [t for t in (since, enrolment.counts_from if enrolment else None) if t is not None]
    since = max(starts) if starts else None
    sums = _seconds_by_lesson(trainee, [lesson.id for lesson in course.lessons], since)
    lessons = [
        LessonProgress(
            lesson=lesson,
            credited=sums.get((lesson.id, IntervalStatus.CREDITED), 0),
            pending=sums.get((lesson.id, IntervalStatus.PROVISIONAL), 0)
            + sums.get((lesson.id, IntervalStatus.AWAITING_ALTERNATIVE), 0),
        )
        for lesson in course.lessons
    ]
    checks = passed_checks(trainee, course, since=since)
    return CourseProgress(course=course, lessons=lessons, face_checks_passed=checks, since=since)


def counted_since(*, trainee: User, course: Course, since: dt.datetime) -> int:
    """Seconds of the course that count (each lesson up to its minutes), credited in intervals that started at or
    after both `since` and the start of the enrolment's current round (for other domains: review periods)."""
    return course_progress(trainee=trainee, course=course, since=since).counted


def round_start(trainee: User, course: Course) -> dt.datetime | None:
    """When the trainee's current round of the course began (None: not enrolled)."""
    enrolment = enrolment_in(trainee, course)
    return enrolment.counts_from if enrolment else None


def enrolled_course(*, trainee: User, course_id: int) -> Course:
    """A course the trainee is enrolled in (else 404)."""
    course = db.session.get(Course, course_id)
    if course is None or not is_enrolled(trainee, course):
        raise NotFoundError(_("课程不存在。"))
    return course


def _studying(trainee: User, now: dt.datetime) -> bool:
    """Whether a lesson page of the trainee holds a live study lease."""
    stale = now - dt.timedelta(seconds=float(current_app.config["STUDY_HEARTBEAT_GAP_SECONDS"]))
    query = sa.select(StudyLease.trainee_id).where(
        StudyLease.trainee_id == trainee.id, StudyLease.token.is_not(None), StudyLease.last_beat_at >= stale
    )
    return db.session.execute(query).first() is not None


def start_new_round(*, trainee: User, course: Course, now: dt.datetime | None = None) -> bool:
    """Study a review course (复审培训) again for the next review period: from now on only new study counts.

    Refused for initial training and while the current round's required hours are not all credited. The
    enrolment row is locked until the commit; a second request within the same second (a double click) changes
    nothing. Whether a round started."""
    now = now or utcnow()
    if course.purpose is not CoursePurpose.REVIEW:
        raise EnrolmentError.on_field(_("只有复审培训课程可以开始新一轮学习，初次培训不能重新计时。"))
    enrolment = enrolment_in(trainee, course)
    if enrolment is None:
        raise NotFoundError(_("课程不存在。"))
    db.session.refresh(enrolment, attribute_names=["counts_from"], with_for_update=True)
    if enrolment.counts_from != enrolment.enrolled_at and now - enrolment.counts_from < dt.timedelta(seconds=1):
        return False  # a round started by the same click's other request
    if _studying(trainee, now):
        # The open interval began before the new round: what it would still collect would count in neither round.
        raise EnrolmentError.on_field(_("您正在学习课时：请先关闭课时页面，再开始新一轮复审培训。"))
    progress = course_progress(trainee=trainee, course=course)
    if progress.left:
        raise EnrolmentError.on_field(
            _(
                "本轮复审培训尚未完成：要求%(required)s，已计入%(counted)s，还差%(left)s。完成后才能开始新一轮。",
                required=format_minutes(progress.required),
                counted=format_minutes(progress.counted),
                left=format_minutes(progress.left),
            )
        )
    previous = enrolment.counts_from
    enrolment.counts_from = now
    db.session.flush()
    record_event(
        "training.round_started",
        object_type="course",
        object_id=course.id,
        details={"enrolment": enrolment.id, "previous": previous.isoformat(), "counts_from": now.isoformat()},
        actor_id=trainee.id,
    )
    return True


def format_minutes(seconds: int) -> str:
    """Seconds as Chinese hours and minutes (学时 are counted in minutes)."""
    hours, minutes = divmod(seconds // 60, 60)
    if hours:
        return str(_("%(h)d小时%(m)d分钟", h=hours, m=minutes))
    return str(_("%(m)d分钟", m=minutes))


def training_shortfall(trainee: User, item: Item, on: dt.date) -> list[str]:
    """What the trainee's training for `item` still lacks on day `on` (empty: required hours reached and face
    checks in order); each entry a Chinese message saying exactly what is missing."""
    from opcert.training.facechecks import face_check_problems

    courses = [e.course for e in enrolments(trainee) if e.course.item_id == item.id]
    if not courses:
        return [str(_("尚未报名“%(item)s”的培训课程：请先在“在线培训”报名并完成学习。", item=item.name))]
    best = max((course_progress(trainee=trainee, course=c) for c in courses), key=lambda p: p.counted)
    problems: list[str] = []
    if best.left:
        problems.append(
            str(
                _(
                    "“%(item)s”培训学时不足：要求%(required)s，已计入%(counted)s，还差%(left)s。",
                    item=item.name,
                    required=format_minutes(best.required),
                    counted=format_minutes(best.counted),
                    left=format_minutes(best.left),
                )
            )
        )
    problems.extend(face_check_problems(trainee))
    return problems
