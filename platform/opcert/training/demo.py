"""The demo's training: one complete Chinese course for 1.2 低压电工作业 with a short generated WebM video and a
generated PDF handout, published, with the demo trainee enrolled (idempotent)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import cv2
import numpy as np
import sqlalchemy as sa
from fpdf.enums import WrapMode, XPos, YPos

from opcert.accounts.models import User
from opcert.catalogue.services import get_item_by_code
from opcert.documents import CJK, new_pdf
from opcert.extensions import db
from opcert.timeutil import local_today
from opcert.training import services
from opcert.training.models import Course, CoursePurpose, LessonKind
from opcert.training.services import LessonDraft

VIDEO_SECONDS = 65
CHAPTERS = [
    (
        "第一章 安全用电基础",
        "<h3>电流对人体的伤害</h3><p>电击与电伤；影响伤害程度的因素：电流大小、持续时间、途径、频率。</p>"
        "<ul><li>安全电压：42V、36V、24V、12V、6V</li><li>保护接地与保护接零</li></ul>",
    ),
    (
        "第二章 低压电器与配电",
        "<h3>常用低压电器</h3><p>刀开关、断路器、接触器、热继电器、剩余电流动作保护器的原理与选用。</p>",
    ),
    (
        "第三章 电工安全用具与作业",
        "<h3>安全用具</h3><p>绝缘手套、绝缘鞋、验电器的检查与使用；停电、验电、装设接地线、悬挂标示牌和装设遮栏。</p>",
    ),
    (
        "第四章 触电急救与电气防火",
        "<h3>触电急救</h3><p>迅速脱离电源；心肺复苏：胸外按压与人工呼吸。</p>"
        "<h3>电气防火</h3><p>电气火灾的原因与扑救：先断电，使用干粉或二氧化碳灭火器。</p>",
    ),
]


def demo_video() -> bytes:
    """A 65-second WebM (VP8) made now with OpenCV: a title card counting the seconds."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "lesson.webm"
        fps = 5
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"VP80"), fps, (320, 240))
        for n in range(VIDEO_SECONDS * fps):
            frame = np.full((240, 320, 3), (40, 90, 160), np.uint8)
            cv2.putText(frame, "Low-voltage safety", (20, 100), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
            cv2.putText(frame, f"{n // fps:02d} s", (120, 160), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 255, 0), 2)
            writer.write(frame)
        writer.release()
        return path.read_bytes()


def demo_pdf() -> bytes:
    """A one-page Chinese handout."""
    pdf = new_pdf(title="低压电工作业安全操作规程")
    pdf.add_page()
    pdf.set_font(CJK, size=16)
    pdf.cell(0, 10, "低压电工作业安全操作规程（讲义）", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(CJK, size=11)
    for line in (
        "1. 作业前办理工作票，检查安全用具是否合格。",
        "2. 停电作业：断开电源、验电、装设接地线、悬挂“禁止合闸，有人工作”标示牌。",
        "3. 带电作业须经批准，由专人监护，穿戴绝缘防护用品。",
        "4. 发生触电立即切断电源，实施心肺复苏并拨打120。",
    ):
        pdf.multi_cell(0, 8, line, wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def load_training_demo(*, author: User, trainee: User) -> str:
    """Write, submit and publish the demo course (once) and enrol the demo trainee; a line for the printout."""
    item = get_item_by_code("1.2")
    existing = db.session.execute(
        sa.select(Course).where(Course.item_id == item.id, Course.provider_id == author.organisation_id)
    ).scalar()
    if existing is None:
        course = services.create_course(
            author=author,
            item_id=item.id,
            purpose=CoursePurpose.INITIAL,
            title="低压电工作业安全技术培训（初训）",
            description="依据低压电工作业培训大纲编写：安全用电、低压电器、安全用具、触电急救与电气防火。",
        )
        services.add_lesson(
            course=course,
            draft=LessonDraft(
                kind=LessonKind.VIDEO, title="导学视频", minutes=1, data=demo_video(), file_name="导学.webm"
            ),
        )
        services.add_lesson(
            course=course,
            draft=LessonDraft(
                kind=LessonKind.PDF, title="安全操作规程讲义", minutes=60, data=demo_pdf(), file_name="规程.pdf"
            ),
        )
        left = services.required_minutes(item, CoursePurpose.INITIAL) - course.total_minutes
        for n, (title, body) in enumerate(CHAPTERS):
            minutes = left // len(CHAPTERS) + (left % len(CHAPTERS) if n == len(CHAPTERS) - 1 else 0)
            services.add_lesson(
                course=course, draft=LessonDraft(kind=LessonKind.TEXT, title=title, minutes=minutes, body=body)
            )
        services.submit_course(course=course)
        services.review_course(course=course, approve=True, note="示范课程")
    services.enrol(trainee=trainee, item_id=item.id, on=local_today())
    return "demo course for 1.2 低压电工作业: published, demo trainee enrolled"
