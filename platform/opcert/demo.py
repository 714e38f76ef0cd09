"""Demo data for a first look: organisations and one account per role (idempotent)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app

from opcert.access import Role
from opcert.accounts import services as accounts
from opcert.accounts.models import Organisation, OrgKind, User
from opcert.catalogue.models import Item
from opcert.catalogue.services import load_catalogue
from opcert.db import utcnow
from opcert.extensions import db
from opcert.timeutil import local_tz

DEMO_PASSWORD = "Demo2026pass"  # noqa: S105 (published demo credential)
# Published demo secrets: anyone can compute the codes, so never use them outside the demo. 32 base32 characters
# (160 bits): pyotp ≥ 2.12 refuses secrets under 112 bits. The 80-bit ones of earlier demos are replaced on load.
DEMO_TOTP = {"admin": "OPCERTDEMOADMINTWOFACTORSECRETAA", "officer": "OPCERTDEMOOFFICERTWOFACTORSECRET"}
_OLD_DEMO_TOTP = {"OPCERTDEMOADMIN2", "OPCERTDEMOOFFICR"}
TRAINEE_ID = "310101199003074511"
# A photo of the shared test set beside the project (read where it is, never copied into the project).
SHARED_DEMO_PHOTO = Path("shared/faces/identities/deepface__dp01/1.jpg")
# 李四's (exams/demo.py), another person of that set: his home shows 证件照片 done, and the desk can match his face.
SHARED_SECOND_PHOTO = Path("shared/faces/identities/deepface__dp02/1.jpg")


@dataclasses.dataclass
class DemoAccount:
    """A demo account's login data, for the printout."""

    role: str
    login: str
    password: str
    totp_secret: str | None


def _organisation(kind: OrgKind, name: str, authority: Organisation | None, address: str) -> Organisation:
    org = db.session.execute(sa.select(Organisation).where(Organisation.name == name)).scalar()
    if org is None:
        org = accounts.save_organisation(
            org=None,
            kind=kind,
            name=name,
            address=address,
            contact="021-12345678",
            authority_id=authority.id if authority else None,
        )
    return org


def _demo_session(centre: Organisation) -> None:
    """A computer room and a theory session for 1.2 低压电工作业 three weeks ahead, open for booking."""
    from exams.sessions import planning
    from exams.sessions.models import ExamPart, Room, RoomLayout

    if db.session.execute(sa.select(Room.id).where(Room.centre_id == centre.id)).first():
        return
    room = planning.save_room(
        centre=centre, room=None, name="第一机考室", layout=RoomLayout.COMPUTER, seats=40, seats_per_row=8
    )
    item = db.session.execute(sa.select(Item).where(Item.code == "1.2")).scalar_one()
    now = utcnow()
    day = (now + dt.timedelta(days=21)).astimezone(local_tz()).replace(hour=9, minute=0, second=0, microsecond=0)
    _save_demo_session(centre, room.id, item, ExamPart.THEORY, day.astimezone(dt.UTC), capacity=40, planned=now)


def _save_demo_session(
    centre: Organisation,
    room_id: int,
    item: Item,
    part: Any,
    starts: dt.datetime,
    *,
    capacity: int,
    planned: dt.datetime,
) -> int:
    """A two-hour session of one item, open for booking from `planned` until the day before."""
    from exams.sessions import planning

    plan = planning.SessionPlan(
        room_id=room_id,
        item_ids=[item.id],
        part=part,
        starts_at=starts,
        duration_minutes=120,
        capacity=capacity,
        booking_opens_at=planned,
        booking_closes_at=starts - dt.timedelta(days=1),
        cancel_deadline=starts - dt.timedelta(days=2),
    )
    return planning.save_session(centre=centre, session=None, plan=plan, now=planned).id


def _demo_photo_file(shared: Path, configured: str | None = None) -> Path | None:
    """A demo library photo: the configured file, else a photo of ../shared/faces when that folder exists."""
    candidates = [Path(configured)] if configured else [Path(__file__).resolve().parents[3] / shared]
    return next((path for path in candidates if path.is_file()), None)


def _demo_library_photo(id_number: str, who: str, path: Path | None, hint: str = "") -> str:
    """Put a demo trainee's photo in the embedded unified library, so 减照片 (no upload) is what a newcomer sees."""
    from photos import services as photos
    from photos.models import PhotoSource

    if current_app.config["PHOTO_LIBRARY"] != "embedded":
        return f"remote photo library configured: no demo photo loaded for {who}"
    if photos.reference_status(id_number).case is photos.ReferenceCase.LIBRARY:
        return f"{who}'s library photo: present"
    if path is None:
        return f"no demo photo found{hint}: {who} will be asked to upload one"
    photos.store_photo(id_number=id_number, data=path.read_bytes(), source=PhotoSource.UNIFIED_LIBRARY)
    return f"{who}'s library photo loaded from {path}"


def load_demo(notes: list[str] | None = None) -> list[DemoAccount]:
    """Create the catalogue, three organisations, one account per role and the demo trainee's photo unless present."""
    notes = notes if notes is not None else []
    load_catalogue()
    from exams.practical.bank import load_tasks

    load_tasks()  # the practical task bank (1.2 低压电工作业)
    bureau = _organisation(OrgKind.AUTHORITY, "上海市应急管理局", None, "上海市黄浦区示范路1号")
    centre = _organisation(OrgKind.EXAM_CENTRE, "上海市安全生产考试示范考点", bureau, "上海市徐汇区示范路100号")
    school = _organisation(OrgKind.TRAINING_PROVIDER, "上海示范安全技术培训学校", bureau, "上海市静安区示范路8号")
    staff = [
        (Role.ADMIN, "admin", "系统管理员", None),
        (Role.OFFICER, "officer", "王审核", bureau),
        (Role.CENTRE_STAFF, "staff", "李考务", centre),
        (Role.EXAMINER, "examiner", "赵考评", centre),
        (Role.PROVIDER, "trainer", "钱培训", school),
    ]
    out: list[DemoAccount] = []
    for n, (role, username, name, org) in enumerate(staff):
        user = db.session.execute(sa.select(User).where(User.username == username)).scalar()
        if user is None:
            user = accounts.create_staff(
                role=role,
                username=username,
                real_name=name,
                mobile=f"1380000000{n}",
                password=DEMO_PASSWORD,
                organisation_id=org.id if org else None,
            )
            user.totp_secret = DEMO_TOTP.get(username)
        elif user.totp_secret in _OLD_DEMO_TOTP:
            user.totp_secret = DEMO_TOTP[username]
        out.append(DemoAccount(role.value, username, DEMO_PASSWORD, user.totp_secret))
    _demo_session(centre)
    if accounts.find_user_by_login(TRAINEE_ID) is None:
        accounts.register_trainee(real_name="张三", id_number=TRAINEE_ID, mobile="13900000001", password=DEMO_PASSWORD)
    out.append(DemoAccount(Role.TRAINEE.value, TRAINEE_ID, DEMO_PASSWORD, None))
    configured = current_app.config.get("DEMO_PHOTO_PATH")
    photo = _demo_photo_file(SHARED_DEMO_PHOTO, configured)
    notes.append(_demo_library_photo(TRAINEE_ID, "张三 (demo trainee)", photo, " (set OPCERT_DEMO_PHOTO_PATH)"))
    notes.append(_demo_practice_bank())
    db.session.flush()
    notes.append(_demo_training(school))

    notes.append(_demo_authority(bureau))
    notes.append(_demo_certificate(centre))
    notes.append(_demo_exam_day(centre))
    notes.append(_demo_second_candidate_photo())
    db.session.flush()
    return out


def _demo_second_candidate_photo() -> str:
    """李四 (created by the exam-day demo) finds his photo in the library too."""
    from exams.demo import SECOND_CANDIDATE_ID

    if accounts.find_user_by_login(SECOND_CANDIDATE_ID) is None:
        return "no second demo candidate: no photo for 李四"
    return _demo_library_photo(SECOND_CANDIDATE_ID, "李四", _demo_photo_file(SHARED_SECOND_PHOTO))


def _demo_exam_day(centre: Organisation) -> str:
    """Exam day today at the demo centre: check-in desk, invigilator console, a practical sheet to score."""
    from exams.demo import load_exam_day_demo

    found = db.session.execute(sa.select(User).where(User.username.in_(["staff", "examiner"]))).scalars()
    users = {user.username: user for user in found}
    trainee = accounts.find_user_by_login(TRAINEE_ID)
    if trainee is None or set(users) != {"staff", "examiner"}:
        return "no exam-day demo (the demo trainee, staff or examiner is missing)"
    return load_exam_day_demo(centre=centre, trainee=trainee, staff=users["staff"], examiner=users["examiner"])


def _demo_authority(bureau: Organisation) -> str:
    """This year's holidays and 调休 days, the service guides, and the routing of the seed's 事权下放 (once)."""
    from opcert.calendar import services as calendar
    from opcert.certificates import guides, routing
    from opcert.certificates.authority_models import Matter

    days = calendar.load_file()
    written = guides.seed_guides()
    pudong = _organisation(OrgKind.AUTHORITY, "浦东新区应急管理局", bureau, "上海市浦东新区示范路2号")
    admin = db.session.execute(sa.select(User).where(User.username == "admin")).scalar_one()
    wanted = [
        routing.RuleSpec(district="310115", authority_id=pudong.id, note="向浦东新区下放审批事项（一业一证）"),
        routing.RuleSpec(
            matter=Matter.FIRST_ISSUE.value,
            authority_id=bureau.id,
            note="特种作业人员的安全操作资格认定由市应急管理局办理，不下放（临港新片区亦同）",
        ),
    ]
    known = {r.key for r in routing.list_rules()}
    added = 0
    for spec in wanted:
        if routing.rule_key(spec) not in known:
            routing.save_rule(rule=None, spec=spec, actor=admin)
            added += 1
    return f"calendar: {days} days of 2026; service guides written: {written}; routing rules added: {added}"


def _demo_practice_bank() -> str:
    """A few questions for 1.2 低压电工作业 with knowledge points and explanations, for practice (exams.practice)."""
    from exams.practice.demo_bank import load_demo_bank

    return load_demo_bank("1.2")


def _demo_training(school: Organisation) -> str:
    """Training's demo: a complete course for 1.2 低压电工作业 by the demo school, the demo trainee enrolled."""
    from opcert.training.demo import load_training_demo

    author = db.session.execute(sa.select(User).where(User.username == "trainer")).scalar_one()
    trainee = accounts.find_user_by_login(TRAINEE_ID)
    if trainee is None or author.organisation_id != school.id:
        return "demo training skipped (the demo trainer is not the demo school's)"
    return load_training_demo(author=author, trainee=trainee)


def _demo_past_session(centre: Organisation, item: Item, part: str, days_ago: int) -> int:
    """A past session of the item at the demo centre (in a room of the fitting layout), planned before it."""
    from exams.sessions import planning
    from exams.sessions.models import ExamPart, Room, RoomLayout

    layout = RoomLayout.PRACTICAL if part == "practical" else RoomLayout.COMPUTER
    room = db.session.execute(
        sa.select(Room).where(Room.centre_id == centre.id, Room.layout == layout).order_by(Room.id).limit(1)
    ).scalar()
    if room is None:
        room = planning.save_room(
            centre=centre, room=None, name="第一实操考场", layout=layout, seats=20, seats_per_row=5
        )
    day = (utcnow() - dt.timedelta(days=days_ago)).astimezone(local_tz())
    starts = day.replace(hour=9, minute=0, second=0, microsecond=0).astimezone(dt.UTC)
    planned = starts - dt.timedelta(days=14)
    return _save_demo_session(centre, room.id, item, ExamPart(part), starts, capacity=20, planned=planned)


def _demo_certificate(centre: Organisation) -> str:
    """A certificate for 1.1 高压电工作业 to the demo trainee through the real path: results recorded for two past
    demo sessions, an application, its acceptance and approval by the demo officer (once: a rerun finds it)."""
    from exams.results import services as results
    from exams.sessions.models import ExamPart
    from opcert.certificates import applications
    from opcert.certificates import services as certificates
    from opcert.certificates.applications_models import Delivery

    trainee = accounts.find_user_by_login(TRAINEE_ID)
    officer = db.session.execute(sa.select(User).where(User.username == "officer")).scalar()
    item = db.session.execute(sa.select(Item).where(Item.code == "1.1")).scalar()
    if trainee is None or officer is None or item is None:
        return "no demo certificate: the catalogue has no item 1.1 (or no demo trainee or officer)"
    held = [c for c in certificates.holder_certificates(trainee.id) if c.item_id == item.id]
    if not held:
        try:
            applications.competent_authority()
        except applications.ApplicationError as exc:
            return f"no demo certificate: {exc.message}"
        for part, days_ago, score in (("theory", 30, 88), ("practical", 16, 91)):
            session_id = _demo_past_session(centre, item, part, days_ago)
            results.record_part_result(
                person_id=trainee.id, item_id=item.id, part=ExamPart(part), score=score, session_id=session_id
            )
            results.publish_results(session_id=session_id)
        application = applications.submit_application(
            user=trainee, item=item, signed=True, delivery=Delivery.ELECTRONIC, mail=applications.MailAddress()
        )
        applications.accept(officer=officer, application=application)
        approved = applications.approve(officer=officer, application=application)
        if approved is None:  # CERT_FOUR_EYES: the demo has one officer, a second one must approve
            return "demo certificate application approved once: a second officer must approve (CERT_FOUR_EYES)"
        held = [approved]
    number = held[0].holder.number
    return f"demo certificate {number} (1.1 {item.name}): opcert certificates pdf {number} demo-certificate.pdf"
