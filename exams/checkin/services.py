"""Check-in at the desk: find the candidate from the scanned ticket, compare the face, decide, flag stand-ins.

Outcomes of `photos.verify_and_add_to_set`: `match` admits (unless the 1:N search flags a possible stand-in),
`review` waits for the staff member at the desk (library photo and capture side by side, a reason), `no_match`
waits for a supervisor: a second centre-staff account of the same centre signs in on the decision form with its
own password (accounts.authenticate, throttled like a login). Without face consent or without a usable reference
photo the staff member checks the ID card; the capture is stored as the candidate's photo for this exam.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from exams.checkin.models import CheckIn, CheckInCapture, CheckInMethod, CheckInStatus
from exams.sessions.bookings import exam_day
from exams.sessions.models import Booking, BookingStatus, ExamSession
from exams.sessions.scoping import managed_session
from exams.sessions.tickets import TicketTokenError, read_ticket_token, ticket_number
from opcert.access import Role
from opcert.accounts.idnumber import normalise
from opcert.accounts.models import User
from opcert.accounts.services import authenticate
from opcert.audit.services import record_event
from opcert.db import utcnow
from opcert.errors import DomainError, NotFoundError
from opcert.extensions import db
from opcert.timeutil import local, local_today, show_datetime
from photos import engine, storage
from photos import services as photo_services
from photos.index import search_similar
from photos.models import FaceDecision, FaceTemplate, Outcome, Photo, PhotoSource
from photos.quality import Purpose

PURPOSE = "exam_checkin"
REASON_MIN = 2
REASON_MAX = 300
_TICKET_NUMBER = re.compile(r"[A-Za-z0-9]{14,40}")
_WRITTEN = "checkin_files_written"  # session.info: photo files written in the transaction, until it commits


class CheckInError(DomainError):
    """A check-in step refused (wrong ticket, already checked in, no decision pending)."""


@dataclasses.dataclass(frozen=True)
class Desk:
    """What the desk shows for one candidate: the booking, the library photo's key, consent, the check-in."""

    booking: Booking
    photo_key: str | None
    has_consent: bool
    checkin: CheckIn | None

    @property
    def face_check_possible(self) -> bool:
        """Whether a face comparison can be made (consent and a usable reference photo)."""
        return self.has_consent and self.photo_key is not None


def _bookings_for_number(number: str) -> list[Booking]:
    query = (
        sa.select(Booking)
        .join(User, User.id == Booking.trainee_id)
        .where(User.id_number == number, Booking.status == BookingStatus.CONFIRMED)
        .order_by(Booking.id)
    )
    return list(db.session.execute(query).scalars())


def booking_for_ticket_number(text: str) -> Booking | None:
    """The booking whose 准考证号 is `text` (the number encodes the session id and the seat)."""
    match = re.fullmatch(r"[A-Za-z0-9]+?(\d{8})(\d{5})(\d{3})", text)
    if match is None:
        return None
    session_id, seat = int(match.group(2)), int(match.group(3))
    booking = db.session.execute(
        sa.select(Booking).where(
            Booking.session_id == session_id, Booking.seat == seat, Booking.status == BookingStatus.CONFIRMED
        )
    ).scalar_one_or_none()
    if booking is None:
        return None
    expected = ticket_number(
        item_code=booking.item.code, exam_day=exam_day(booking.session), session_id=booking.session_id, seat=seat
    )
    return booking if expected == text else None


def _resolve(session: ExamSession, scanned: str, now: dt.datetime) -> Booking:
    text = "".join(scanned.split())
    if not text:
        raise CheckInError.on_field(_("请扫描准考证二维码，或输入准考证号或身份证号码。"), "scanned")
    booking: Booking | None = None
    if "." in text:
        try:
            booking = db.session.get(Booking, read_ticket_token(text, now=now))
        except TicketTokenError as exc:
            raise CheckInError.on_field(exc.message, "scanned") from None
    else:
        number = normalise(text).upper()
        if len(number) == 18 and number[:17].isdigit():
            found = _bookings_for_number(number)
            booking = next((b for b in found if b.session_id == session.id), found[-1] if found else None)
        elif _TICKET_NUMBER.fullmatch(text):
            booking = booking_for_ticket_number(text.upper())
    if booking is None or booking.status is not BookingStatus.CONFIRMED:
        raise CheckInError.on_field(_("没有找到这张准考证或这个身份证号码的有效预约。"), "scanned")
    if booking.session_id != session.id:
        raise CheckInError.on_field(
            _(
                "这张准考证属于另一场考试（%(when)s，%(centre)s），不是本场次。",
                when=show_datetime(booking.session.starts_at),
                centre=booking.session.centre.name,
            ),
            "scanned",
        )
    return booking


def _check_today(session: ExamSession, now: dt.datetime) -> None:
    if exam_day(session) != local(now).date():
        raise CheckInError.on_field(
            _("本场次不在今天（%(when)s），今天不能办理入场。", when=show_datetime(session.starts_at)), "scanned"
        )


def find_candidate(*, viewer: User, session_id: int, scanned: str, now: dt.datetime | None = None) -> Booking:
    """The booking of this session that a scanned QR text, a 准考证号 or an ID number names; refusals say why."""
    now = now or utcnow()
    session = managed_session(viewer=viewer, session_id=session_id)
    booking = _resolve(session, scanned, now)
    _check_today(session, now)
    return booking


def _checkin_of(booking_id: int) -> CheckIn | None:
    return db.session.execute(sa.select(CheckIn).where(CheckIn.booking_id == booking_id)).scalar_one_or_none()


def _desk_booking(viewer: User, session_id: int, booking_id: int) -> Booking:
    managed_session(viewer=viewer, session_id=session_id)
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.session_id != session_id or booking.status is not BookingStatus.CONFIRMED:
        raise NotFoundError(_("预约记录不存在。"))
    return booking


def desk(*, viewer: User, session_id: int, booking_id: int) -> Desk:
    """The desk's view of one candidate of a session the viewer manages."""
    booking = _desk_booking(viewer, session_id, booking_id)
    number = booking.trainee.id_number or ""
    status = photo_services.reference_status(number)
    return Desk(
        booking=booking,
        photo_key=status.photo.view_key if status.photo is not None else None,
        has_consent=photo_services.has_consent(number),
        checkin=_checkin_of(booking.id),
    )


def _refuse_if_decided(checkin: CheckIn | None) -> None:
    if checkin is not None and checkin.status is CheckInStatus.ADMITTED:
        raise CheckInError(
            _(
                "该考生已经入场（%(when)s），不能重复办理。",
                when=show_datetime(checkin.decided_at or checkin.created_at),
            )
        )
    if checkin is not None and checkin.status is CheckInStatus.REFUSED:
        raise CheckInError(_("该考生已被拒绝入场，不能再次办理。"))


def _probe_encoding(decision: FaceDecision) -> np.ndarray | None:
    """The capture's dlib encoding (the 1:N index holds dlib templates only)."""
    if decision.probe_photo_id is None:
        return None
    vector = db.session.execute(
        sa.select(FaceTemplate.vector).where(
            FaceTemplate.photo_id == decision.probe_photo_id, FaceTemplate.model_name == engine.MODEL_NAME
        )
    ).scalar_one_or_none()
    return None if vector is None else engine.from_bytes(vector)


def _standin_matches(booking: Booking, decision: FaceDecision) -> list[dict[str, Any]]:
    """Identities other than the candidate's whose faces lie within the match threshold of the capture."""
    encoding = _probe_encoding(decision)
    if encoding is None:
        return []
    found = search_similar(
        encoding=encoding,
        exclude_subject_ref=decision.subject_ref,
        k=int(current_app.config["CHECKIN_STANDIN_K"]),
        purpose="checkin_standin",
    )
    threshold = float(current_app.config["CHECKIN_STANDIN_THRESHOLD"])
    numbers = db.session.execute(
        sa.select(Booking.id, User.id_number)
        .join(User, User.id == Booking.trainee_id)
        .where(Booking.session_id == booking.session_id, Booking.status == BookingStatus.CONFIRMED)
    ).all()
    seat_of = {photo_services.subject_ref(n): b for b, n in numbers if n}
    return [
        {
            "subject": m.subject_ref[:16],
            "distance": round(m.distance, 6),
            "threshold": threshold,
            "booking_id": seat_of.get(m.subject_ref),
        }
        for m in found
        if m.distance <= threshold
    ]


def check_face(
    *, viewer: User, session_id: int, booking_id: int, images: Sequence[bytes], now: dt.datetime | None = None
) -> CheckIn:
    """Compare a burst with the candidate's reference set, search 1:N for a stand-in and record the outcome.

    photos' refusals (no face, two faces, a replay, no consent, no reference) propagate after their audit row;
    the boundary commits it, as for a refused login.
    """
    now = now or utcnow()
    booking = _desk_booking(viewer, session_id, booking_id)
    _check_today(booking.session, now)
    checkin = _checkin_of(booking.id)
    _refuse_if_decided(checkin)
    decision = photo_services.verify_and_add_to_set(
        id_number=booking.trainee.id_number or "", images=images, requested_by_id=viewer.id, purpose=PURPOSE
    )
    matches = _standin_matches(booking, decision)
    if checkin is None:
        checkin = CheckIn(
            booking_id=booking.id, session_id=booking.session_id, method=CheckInMethod.FACE, checked_by_id=viewer.id
        )
        db.session.add(checkin)
    suspected = bool(matches)
    if decision.outcome is Outcome.MATCH and not suspected:
        checkin.status, checkin.decided_by_id, checkin.decided_at = CheckInStatus.ADMITTED, viewer.id, now
    elif decision.outcome is Outcome.NO_MATCH:
        checkin.status = CheckInStatus.SUPERVISOR
    else:
        checkin.status = CheckInStatus.REVIEW
    checkin.decision_id, checkin.outcome = decision.id, decision.outcome.value
    checkin.standin_suspected = checkin.standin_suspected or suspected
    checkin.standin_matches = matches or checkin.standin_matches
    checkin.captures.append(
        CheckInCapture(
            decision_id=decision.id,
            outcome=decision.outcome.value,
            distance=decision.distance,
            match_threshold=decision.match_threshold,
            review_threshold=decision.review_threshold,
            model_name=decision.model_name,
            standin_matches=matches,
            staff_id=viewer.id,
        )
    )
    db.session.flush()
    record_event(
        "checkin.face_checked",
        object_type="booking",
        object_id=booking.id,
        details={
            "outcome": decision.outcome.value,
            "status": checkin.status.value,
            "decision": decision.id,
            "standin": suspected,
        },
    )
    return checkin


def _reason(reason: str) -> str:
    text = " ".join(reason.split())
    if len(text) < REASON_MIN:
        raise CheckInError.on_field(_("请写明决定的理由。"), "reason")
    return text[:REASON_MAX]


def pending_checkin(*, viewer: User, checkin_id: int) -> CheckIn:
    """A check-in of a session the viewer manages (else 404)."""
    checkin = db.session.get(CheckIn, checkin_id)
    if checkin is None:
        raise NotFoundError(_("入场记录不存在。"))
    managed_session(viewer=viewer, session_id=checkin.session_id)
    return checkin


def _pending(viewer: User, checkin_id: int, status: CheckInStatus) -> CheckIn:
    checkin = pending_checkin(viewer=viewer, checkin_id=checkin_id)
    if checkin.status is not status:
        raise CheckInError(_("这条入场记录没有等待这项决定（当前：%(status)s）。", status=checkin.status.label))
    return checkin


def _decide(checkin: CheckIn, *, by: User, admit: bool, reason: str, supervisor: User | None) -> CheckIn:
    checkin.status = CheckInStatus.ADMITTED if admit else CheckInStatus.REFUSED
    checkin.decided_by_id = by.id
    checkin.supervisor_id = supervisor.id if supervisor else None
    checkin.reason = reason
    checkin.decided_at = utcnow()
    db.session.flush()
    record_event(
        "checkin.decided",
        object_type="booking",
        object_id=checkin.booking_id,
        details={
            "status": checkin.status.value,
            "outcome": checkin.outcome,
            "supervisor": supervisor.id if supervisor else None,
            "reason": reason,
        },
    )
    return checkin


def decide_review(*, viewer: User, checkin_id: int, admit: bool, reason: str) -> CheckIn:
    """The desk's decision on a `review` outcome (or a flagged match), with its reason."""
    checkin = _pending(viewer, checkin_id, CheckInStatus.REVIEW)
    return _decide(checkin, by=viewer, admit=admit, reason=_reason(reason), supervisor=None)


def decide_no_match(
    *,
    viewer: User,
    checkin_id: int,
    admit: bool,
    reason: str,
    supervisor_account: str,
    supervisor_password: str,
    ip: str,
) -> CheckIn:
    """A supervisor's decision on a `no_match`: another centre-staff account of the same centre, by its password.

    A wrong password raises LoginRefusedError after the throttle's counters were written: the boundary commits.
    """
    checkin = _pending(viewer, checkin_id, CheckInStatus.SUPERVISOR)
    text = _reason(reason)
    supervisor = authenticate(account=supervisor_account, password=supervisor_password, ip=ip)
    centre_id = checkin.booking.session.centre_id
    if (
        supervisor.id == viewer.id
        or supervisor.role is not Role.CENTRE_STAFF
        or supervisor.organisation_id != centre_id
    ):
        raise CheckInError.on_field(_("须由本考点的另一名工作人员以自己的账号确认。"), "supervisor_account")
    return _decide(checkin, by=viewer, admit=admit, reason=text, supervisor=supervisor)


def _exam_photo(number: str, image: bytes) -> Photo:
    """The manual check's capture as the candidate's photo for this exam only: checked like any capture (one face,
    quality), stored without a face template (no consent is needed for a photo nobody compares: it never joins the
    reference set nor the 1:N index) and not current (never a reference). Its file is removed if the transaction
    rolls back."""
    jpeg, _checked, (width, height) = photo_services.examine(image, Purpose.CAPTURE)
    photo = Photo(
        subject_ref=photo_services.subject_ref(number),
        source=PhotoSource.CHECKIN,
        captured_on=local_today(),
        sha256=hashlib.sha256(jpeg).hexdigest(),
        storage_key=_save_until_rollback(jpeg),
        width=width,
        height=height,
        is_current=False,
    )
    db.session.add(photo)
    db.session.flush()
    return photo


def _save_until_rollback(data: bytes) -> str:
    """Write a file now; it is removed again unless the outermost transaction commits (see _files_kept)."""
    key = storage.save(data)
    db.session.info.setdefault(_WRITTEN, []).append(key)
    return key


@event.listens_for(Session, "after_commit")
def _files_kept(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_WRITTEN, None)  # committed: the rows that name the files are durable


@event.listens_for(Session, "after_transaction_end")
def _files_unkept(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        for key in session.info.pop(_WRITTEN, []):  # rolled back (or closed) before any commit
            storage.delete(key)


def check_manually(*, viewer: User, session_id: int, booking_id: int, image: bytes, reason: str) -> CheckIn:
    """Admit a candidate checked against the ID card (no face consent, or no usable reference photo).

    The capture becomes the candidate's photo for this exam only (`_exam_photo`): it is never compared with
    anything and no face template of it is kept.
    """
    booking = _desk_booking(viewer, session_id, booking_id)
    _check_today(booking.session, utcnow())
    checkin = _checkin_of(booking.id)
    _refuse_if_decided(checkin)
    number = booking.trainee.id_number or ""
    if photo_services.has_consent(number) and photo_services.reference_status(number).photo is not None:
        raise CheckInError(_("该考生有可用的照片并已同意人脸核验，请先进行人脸核验。"))
    text = _reason(reason)
    photo = _exam_photo(number, image)
    if checkin is None:
        checkin = CheckIn(booking_id=booking.id, session_id=booking.session_id, checked_by_id=viewer.id)
        db.session.add(checkin)
    checkin.method, checkin.photo_id = CheckInMethod.MANUAL, photo.id
    _decide(checkin, by=viewer, admit=True, reason=text, supervisor=None)
    record_event("checkin.manual", object_type="booking", object_id=booking.id, details={"photo": photo.id})
    return checkin


def decision_photos(checkin: CheckIn) -> tuple[str | None, str | None]:
    """View keys of the reference photo and the capture that the check-in's last decision compared (a manual
    check: no reference, its photo for this exam)."""
    decision = db.session.get(FaceDecision, checkin.decision_id) if checkin.decision_id else None
    if decision is None:
        photo = db.session.get(Photo, checkin.photo_id) if checkin.photo_id else None
        return None, photo.view_key if photo is not None else None
    ids = [decision.reference_photo_id or 0, decision.probe_photo_id or 0]
    rows = db.session.execute(sa.select(Photo.id, Photo.view_key).where(Photo.id.in_(ids))).all()
    keys = {photo_id: key for photo_id, key in rows}
    return keys.get(decision.reference_photo_id or 0), keys.get(decision.probe_photo_id or 0)


def admission(booking_id: int) -> CheckIn | None:
    """The booking's check-in when the candidate was admitted, else None (for the theory exam and others)."""
    checkin = _checkin_of(booking_id)
    return checkin if checkin is not None and checkin.admitted else None


def session_checkins(session_id: int) -> dict[int, CheckIn]:
    """Every check-in of a session by booking id."""
    rows = db.session.execute(sa.select(CheckIn).where(CheckIn.session_id == session_id)).scalars()
    return {c.booking_id: c for c in rows}


def session_candidates(*, viewer: User, session_id: int) -> tuple[ExamSession, list[Booking]]:
    """A managed session and its confirmed bookings by seat."""
    session = managed_session(viewer=viewer, session_id=session_id)
    bookings = db.session.execute(
        sa.select(Booking)
        .where(Booking.session_id == session.id, Booking.status == BookingStatus.CONFIRMED)
        .order_by(Booking.seat)
    ).scalars()
    return session, list(bookings)
