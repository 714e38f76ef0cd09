"""Courses and lessons, enrolments, study leases, credited study intervals and face checks while studying."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opcert.accounts.models import Organisation, User
from opcert.catalogue.models import Item
from opcert.db import Base, UTCDateTime, str_enum, utcnow


class CoursePurpose(enum.StrEnum):
    """What a course is for: the initial training, or the review training (复审) every 3 years."""

    INITIAL = "initial"
    REVIEW = "review"

    @property
    def label(self) -> LazyString:
        """The purpose's name for people."""
        return {CoursePurpose.INITIAL: _l("初次培训"), CoursePurpose.REVIEW: _l("复审培训")}[self]


class CourseStatus(enum.StrEnum):
    """A course's life: written by the provider, submitted, then published or returned by an administrator."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    PUBLISHED = "published"
    RETURNED = "returned"

    @property
    def label(self) -> LazyString:
        """The status's name for people."""
        return {
            CourseStatus.DRAFT: _l("草稿"),
            CourseStatus.SUBMITTED: _l("待审核"),
            CourseStatus.PUBLISHED: _l("已发布"),
            CourseStatus.RETURNED: _l("已退回"),
        }[self]


COURSE_TRANSITIONS: dict[CourseStatus, frozenset[CourseStatus]] = {
    CourseStatus.DRAFT: frozenset({CourseStatus.SUBMITTED}),
    CourseStatus.RETURNED: frozenset({CourseStatus.SUBMITTED}),
    CourseStatus.SUBMITTED: frozenset({CourseStatus.PUBLISHED, CourseStatus.RETURNED}),
    CourseStatus.PUBLISHED: frozenset(),
}
EDITABLE = frozenset({CourseStatus.DRAFT, CourseStatus.RETURNED})


class LessonKind(enum.StrEnum):
    """What a lesson holds."""

    TEXT = "text"
    VIDEO = "video"
    PDF = "pdf"

    @property
    def label(self) -> LazyString:
        """The kind's name for people."""
        return {LessonKind.TEXT: _l("图文"), LessonKind.VIDEO: _l("视频"), LessonKind.PDF: _l("PDF 讲义")}[self]


class Course(Base):
    """A training course of one provider for one operation item and purpose, made of ordered lessons."""

    __tablename__ = "training_courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("catalogue_items.id"), index=True)
    purpose: Mapped[CoursePurpose] = mapped_column(str_enum(CoursePurpose, "course_purpose", 10))
    title: Mapped[str] = mapped_column(sa.String(100))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[CourseStatus] = mapped_column(
        str_enum(CourseStatus, "course_status", 12), default=CourseStatus.DRAFT
    )
    review_note: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    provider: Mapped[Organisation] = relationship()
    item: Mapped[Item] = relationship()
    lessons: Mapped[list[Lesson]] = relationship(back_populates="course", order_by="Lesson.position")

    @property
    def total_minutes(self) -> int:
        """The syllabus minutes of all lessons."""
        return sum(lesson.minutes for lesson in self.lessons)

    def __repr__(self) -> str:
        return f"<Course {self.id} {self.purpose.value} {self.status.value}>"


class Lesson(Base):
    """One lesson of a course: rich text, a video or a PDF handout, worth its syllabus minutes."""

    __tablename__ = "training_lessons"
    __table_args__ = (
        sa.UniqueConstraint("course_id", "position", name="uq_training_lessons_course_position"),
        sa.CheckConstraint("minutes > 0", name="minutes_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("training_courses.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    kind: Mapped[LessonKind] = mapped_column(str_enum(LessonKind, "lesson_kind", 10))
    title: Mapped[str] = mapped_column(sa.String(100))
    body_html: Mapped[str] = mapped_column(sa.Text, default="")  # sanitised when saved (training/richtext.py)
    file_key: Mapped[str | None] = mapped_column(sa.String(40))
    file_name: Mapped[str] = mapped_column(sa.String(120), default="")
    file_size: Mapped[int] = mapped_column(default=0)
    video_seconds: Mapped[int] = mapped_column(default=0)  # measured on the server when the video is stored
    minutes: Mapped[int]

    course: Mapped[Course] = relationship(back_populates="lessons")

    def __repr__(self) -> str:
        return f"<Lesson {self.id} course={self.course_id} #{self.position} {self.kind.value}>"


class Enrolment(Base):
    """A trainee enrolled in a published course; study time counts from `counts_from` (the current round: a review
    course is studied again for each review period, `services.start_new_round`)."""

    __tablename__ = "training_enrolments"
    __table_args__ = (sa.UniqueConstraint("trainee_id", "course_id", name="uq_training_enrolments_trainee_course"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("training_courses.id"), index=True)
    enrolled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    counts_from: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    trainee: Mapped[User] = relationship()
    course: Mapped[Course] = relationship()

    def __repr__(self) -> str:
        return f"<Enrolment {self.id} trainee={self.trainee_id} course={self.course_id}>"


class StudyLease(Base):
    """The one lesson a trainee may be studying right now (any tab, any device): taken by a conditional UPDATE.

    `token` names the page holding it; `seq` is the last heartbeat's number (a replay repeats one); times are the
    server's own. The next face check is due at `check_at` and must pass by `check_due_by`.
    """

    __tablename__ = "training_study_leases"

    trainee_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    lesson_id: Mapped[int | None] = mapped_column(sa.ForeignKey("training_lessons.id"))
    token: Mapped[str | None] = mapped_column(sa.String(32))
    seq: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_beat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    interval_id: Mapped[int | None] = mapped_column(sa.Integer)  # the interval the next credit extends
    check_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    check_due_by: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    blocked: Mapped[bool] = mapped_column(default=False)  # a face check failed or was missed: no credit until a pass

    def __repr__(self) -> str:
        return f"<StudyLease trainee={self.trainee_id} lesson={self.lesson_id} seq={self.seq}>"


class IntervalStatus(enum.StrEnum):
    """Whether an interval's time counts: provisional until settled, then credited or discarded."""

    PROVISIONAL = "provisional"
    CREDITED = "credited"
    DISCARDED = "discarded"
    AWAITING_ALTERNATIVE = "awaiting_alternative"  # no face check possible: counts after a staff-approved check

    @property
    def label(self) -> LazyString:
        """The status's name for people."""
        return {
            IntervalStatus.PROVISIONAL: _l("待确认"),
            IntervalStatus.CREDITED: _l("已计入"),
            IntervalStatus.DISCARDED: _l("已作废"),
            IntervalStatus.AWAITING_ALTERNATIVE: _l("待人工核验"),
        }[self]


COUNTING = (IntervalStatus.PROVISIONAL, IntervalStatus.CREDITED, IntervalStatus.AWAITING_ALTERNATIVE)


class StudyInterval(Base):
    """A stretch of study on one lesson that the server observed, heartbeats aggregated into one row.

    `seconds` is the server's credit (never a duration the browser reported); `played` lists the video's
    segments (media seconds "a-b,c-d") this interval credited.
    """

    __tablename__ = "training_study_intervals"
    __table_args__ = (sa.CheckConstraint("seconds >= 0", name="seconds_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    lesson_id: Mapped[int] = mapped_column(sa.ForeignKey("training_lessons.id"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    seconds: Mapped[int] = mapped_column(default=0)
    beats: Mapped[int] = mapped_column(default=0)
    played: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[IntervalStatus] = mapped_column(
        str_enum(IntervalStatus, "interval_status", 24), default=IntervalStatus.PROVISIONAL
    )
    settled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    lesson: Mapped[Lesson] = relationship()

    def __repr__(self) -> str:
        return f"<StudyInterval {self.id} lesson={self.lesson_id} {self.seconds}s {self.status.value}>"


class CheckOutcome(enum.StrEnum):
    """How a face check while studying ended."""

    PENDING = "pending"
    PASSED = "passed"
    FAILED = "failed"
    MISSED = "missed"
    ALTERNATIVE = "alternative"  # no camera or no face consent: staff checked the person another way

    @property
    def label(self) -> LazyString:
        """The outcome's name for people."""
        return {
            CheckOutcome.PENDING: _l("待完成"),
            CheckOutcome.PASSED: _l("通过"),
            CheckOutcome.FAILED: _l("未通过"),
            CheckOutcome.MISSED: _l("超时未完成"),
            CheckOutcome.ALTERNATIVE: _l("人工核验通过"),
        }[self]


class FaceCheck(Base):
    """A face check asked for while studying: when it was asked, by when it had to pass, how it ended, and the
    photos decision that judged it (its capture is the evidence)."""

    __tablename__ = "training_face_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    lesson_id: Mapped[int | None] = mapped_column(sa.ForeignKey("training_lessons.id"))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    due_by: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[CheckOutcome] = mapped_column(
        str_enum(CheckOutcome, "check_outcome", 12), default=CheckOutcome.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    decision_id: Mapped[int | None] = mapped_column(sa.ForeignKey("face_decisions.id", ondelete="SET NULL"))
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(sa.String(300), default="")

    def __repr__(self) -> str:
        return f"<FaceCheck {self.id} trainee={self.trainee_id} {self.outcome.value}>"


class StudyFlag(Base):
    """An account flagged for staff review after repeated failed face checks (代学 suspected)."""

    __tablename__ = "training_study_flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    raised_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    failures: Mapped[int]
    cleared_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cleared_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    def __repr__(self) -> str:
        return f"<StudyFlag {self.id} trainee={self.trainee_id} open={self.cleared_at is None}>"
