"""The practical exam: task banks with rubrics per subject (K1–K4), examiners per session, score sheets, markings."""

from __future__ import annotations

import datetime as dt
import decimal
import enum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exams.sessions.models import ExamSession
from opcert.accounts.models import User
from opcert.catalogue.models import Item
from opcert.db import Base, UTCDateTime, str_enum, utcnow


class Subject(enum.StrEnum):
    """The four subjects of a practical exam; their weights are the item's (catalogue weight_k1..k4)."""

    K1 = "K1"
    K2 = "K2"
    K3 = "K3"
    K4 = "K4"

    @property
    def label(self) -> LazyString:
        """The subject's name for people."""
        return SUBJECT_LABELS[self]

    def weight(self, item: Item) -> int:
        """The subject's weight (percent of the practical score) in an item."""
        return int(getattr(item, f"weight_{self.value.lower()}"))


SUBJECT_LABELS = {
    Subject.K1: _l("K1 安全用具使用"),
    Subject.K2: _l("K2 安全操作技术"),
    Subject.K3: _l("K3 作业现场安全隐患排除"),
    Subject.K4: _l("K4 作业现场应急处置"),
}


class SheetStatus(enum.StrEnum):
    """A candidate's practical exam: being marked, waiting for a third examiner, decided."""

    SCORING = "scoring"
    THIRD_CALLED = "third_called"
    DECIDED = "decided"

    @property
    def label(self) -> LazyString:
        """The status's name for people."""
        return {
            SheetStatus.SCORING: _l("评分中"),
            SheetStatus.THIRD_CALLED: _l("已请第三位考评员"),
            SheetStatus.DECIDED: _l("已评定"),
        }[self]


class MarkerRole(enum.StrEnum):
    """Which marking of a sheet: the two independent ones, or the third called on disagreement."""

    FIRST = "first"
    SECOND = "second"
    THIRD = "third"

    @property
    def label(self) -> LazyString:
        """The role's name for people."""
        return {MarkerRole.FIRST: _l("第一评分"), MarkerRole.SECOND: _l("第二评分"), MarkerRole.THIRD: _l("第三评分")}[
            self
        ]


class PracticalTask(Base):
    """A task of the bank for one subject of an item, with its rubric."""

    __tablename__ = "practical_tasks"
    __table_args__ = (sa.UniqueConstraint("item_id", "code", name="uq_practical_tasks_item_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("catalogue_items.id"), index=True)
    subject: Mapped[Subject] = mapped_column(str_enum(Subject, "practical_subject", 4))
    code: Mapped[str] = mapped_column(sa.String(20))
    title: Mapped[str] = mapped_column(sa.String(200))
    is_active: Mapped[bool] = mapped_column(default=True)

    item: Mapped[Item] = relationship()
    lines: Mapped[list[RubricLine]] = relationship(
        back_populates="task", order_by="RubricLine.position", cascade="all, delete-orphan"
    )

    @property
    def max_points(self) -> int:
        """The points the rubric's point lines add up to."""
        return sum(line.max_points for line in self.lines if not line.is_veto)

    def __repr__(self) -> str:
        return f"<PracticalTask {self.id} {self.subject.value} {self.code!r}>"


class RubricLine(Base):
    """One line of a task's rubric: points to award (0..max_points), or a veto item (否决项) with no points."""

    __tablename__ = "practical_rubric_lines"
    __table_args__ = (
        sa.UniqueConstraint("task_id", "position", name="uq_practical_rubric_lines_task_position"),
        sa.CheckConstraint("(is_veto AND max_points = 0) OR (NOT is_veto AND max_points > 0)", name="points_or_veto"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(sa.ForeignKey("practical_tasks.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    text: Mapped[str] = mapped_column(sa.String(300))
    max_points: Mapped[int] = mapped_column(default=0)
    is_veto: Mapped[bool] = mapped_column(default=False)

    task: Mapped[PracticalTask] = relationship(back_populates="lines")

    def __repr__(self) -> str:
        return f"<RubricLine {self.id} task={self.task_id} veto={self.is_veto} max={self.max_points}>"


class ExaminerAssignment(Base):
    """An examiner assigned to a practical session by the centre: only they may mark its candidates."""

    __tablename__ = "practical_examiners"
    __table_args__ = (sa.UniqueConstraint("session_id", "examiner_id", name="uq_practical_examiners_session_examiner"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_sessions.id"), index=True)
    examiner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    assigned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    assigned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    examiner: Mapped[User] = relationship(foreign_keys=[examiner_id])

    def __repr__(self) -> str:
        return f"<ExaminerAssignment session={self.session_id} examiner={self.examiner_id}>"


class ScoreSheet(Base):
    """A candidate's practical exam in a session: the drawn tasks, the markings, the decision."""

    __tablename__ = "practical_sheets"
    __table_args__ = (sa.UniqueConstraint("session_id", "candidate_id", name="uq_practical_sheets_session_candidate"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_sessions.id"), index=True)
    candidate_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("catalogue_items.id"))
    status: Mapped[SheetStatus] = mapped_column(
        str_enum(SheetStatus, "practical_sheet_status", 20), default=SheetStatus.SCORING
    )
    # The random seed of the draw, so that it can be shown to have been random.
    draw_seed: Mapped[str] = mapped_column(sa.String(32))
    score: Mapped[decimal.Decimal | None] = mapped_column(sa.Numeric(5, 1))
    vetoed: Mapped[bool | None]
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    session: Mapped[ExamSession] = relationship()
    candidate: Mapped[User] = relationship()
    item: Mapped[Item] = relationship()
    draws: Mapped[list[TaskDraw]] = relationship(order_by="TaskDraw.subject", cascade="all, delete-orphan")
    markings: Mapped[list[Marking]] = relationship(back_populates="sheet", order_by="Marking.id")

    def __repr__(self) -> str:
        return f"<ScoreSheet {self.id} session={self.session_id} candidate={self.candidate_id} {self.status.value}>"


class TaskDraw(Base):
    """The task drawn for one subject of a sheet."""

    __tablename__ = "practical_draws"
    __table_args__ = (sa.UniqueConstraint("sheet_id", "subject", name="uq_practical_draws_sheet_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sheet_id: Mapped[int] = mapped_column(sa.ForeignKey("practical_sheets.id", ondelete="CASCADE"), index=True)
    subject: Mapped[Subject] = mapped_column(str_enum(Subject, "practical_draw_subject", 4))
    task_id: Mapped[int] = mapped_column(sa.ForeignKey("practical_tasks.id"))

    task: Mapped[PracticalTask] = relationship()

    def __repr__(self) -> str:
        return f"<TaskDraw sheet={self.sheet_id} {self.subject.value} task={self.task_id}>"


class Marking(Base):
    """One examiner's marks for a sheet; locked once signed."""

    __tablename__ = "practical_markings"
    __table_args__ = (
        sa.UniqueConstraint("sheet_id", "examiner_id", name="uq_practical_markings_sheet_examiner"),
        sa.UniqueConstraint("sheet_id", "role", name="uq_practical_markings_sheet_role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sheet_id: Mapped[int] = mapped_column(sa.ForeignKey("practical_sheets.id"), index=True)
    examiner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    role: Mapped[MarkerRole] = mapped_column(str_enum(MarkerRole, "practical_marker_role", 10))
    total: Mapped[decimal.Decimal | None] = mapped_column(sa.Numeric(5, 1))
    signed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    sheet: Mapped[ScoreSheet] = relationship(back_populates="markings")
    examiner: Mapped[User] = relationship()
    marks: Mapped[list[Mark]] = relationship(back_populates="marking", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<Marking {self.id} sheet={self.sheet_id} examiner={self.examiner_id} {self.role.value}>"


class Mark(Base):
    """The points an examiner gave for one rubric line, or whether a veto line was hit."""

    __tablename__ = "practical_marks"
    __table_args__ = (
        sa.UniqueConstraint("marking_id", "line_id", name="uq_practical_marks_marking_line"),
        sa.CheckConstraint("points >= 0", name="points_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    marking_id: Mapped[int] = mapped_column(sa.ForeignKey("practical_markings.id", ondelete="CASCADE"), index=True)
    line_id: Mapped[int] = mapped_column(sa.ForeignKey("practical_rubric_lines.id"))
    points: Mapped[int] = mapped_column(default=0)
    vetoed: Mapped[bool] = mapped_column(default=False)

    marking: Mapped[Marking] = relationship(back_populates="marks")
    line: Mapped[RubricLine] = relationship()

    def __repr__(self) -> str:
        return f"<Mark marking={self.marking_id} line={self.line_id} {self.points} veto={self.vetoed}>"
