"""Test data for training: a provider's published course on a small item, enrolled trainees, media files."""

from __future__ import annotations

import io

import cv2
import numpy as np
from fpdf import FPDF

from opcert.access import Role
from opcert.accounts.models import Organisation, OrgKind, User
from opcert.catalogue.models import Item
from opcert.extensions import db
from opcert.timeutil import local_today
from opcert.training import services
from opcert.training.models import Course, CoursePurpose, Lesson, LessonKind
from opcert.training.services import LessonDraft
from tests.exams.sessions import sessions_data
from tests.factories import organisation, staff


def small_item(*, theory_hours: int = 1, review_hours: int = 1) -> Item:
    """An offered item whose syllabus is short enough to study in a test (committed)."""
    item = sessions_data.item()
    item.theory_hours = theory_hours
    item.review_hours = review_hours
    db.session.commit()
    return item


def provider(org: Organisation | None = None) -> User:
    """Training-provider staff of a (new) provider organisation (committed)."""
    return staff(Role.PROVIDER, org=org or organisation(OrgKind.TRAINING_PROVIDER))


def pdf_bytes(text: str = "Lesson handout") -> bytes:
    """A real one-page PDF."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=14)
    pdf.cell(text=text)
    return bytes(pdf.output())


def webm_bytes(seconds: int = 61, fps: int = 5) -> bytes:
    """A real VP8 WebM video of `seconds` (small frames, so it stays small)."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "v.webm"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"VP80"), fps, (160, 120))
        for n in range(seconds * fps):
            frame = np.full((120, 160, 3), (n * 3) % 255, np.uint8)
            writer.write(frame)
        writer.release()
        return path.read_bytes()


def text_draft(minutes: int, title: str = "安全用电基础") -> LessonDraft:
    """A text lesson."""
    return LessonDraft(kind=LessonKind.TEXT, title=title, minutes=minutes, body="<p>触电的危害与防护。</p>")


def published_course(
    item: Item | None = None,
    *,
    author: User | None = None,
    drafts: list[LessonDraft] | None = None,
    purpose: CoursePurpose = CoursePurpose.INITIAL,
) -> Course:
    """A course written by a provider and published by an administrator (committed)."""
    item = item or small_item()
    author = author or provider()
    course = services.create_course(
        author=author, item_id=item.id, purpose=purpose, title="低压电工安全", description=""
    )
    needed = services.required_minutes(item, purpose)
    for draft in drafts or [text_draft(needed)]:
        services.add_lesson(course=course, draft=draft)
    services.submit_course(course=course)
    services.review_course(course=course, approve=True, note="")
    db.session.commit()
    return course


def enrolled(trainee: User, course: Course) -> None:
    """Enrol a trainee in the course's item (committed)."""
    services.enrol(trainee=trainee, item_id=course.item_id, on=local_today())
    db.session.commit()


def first_lesson(course: Course) -> Lesson:
    """The course's first lesson."""
    return course.lessons[0]


def png_bytes() -> bytes:
    """A small image that is not a PDF or a video."""
    ok, data = cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))
    assert ok
    return io.BytesIO(data.tobytes()).getvalue()
