"""Check-in at the desk on real photos: match admits, review and no_match wait for people, stand-ins are flagged."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from exams.checkin import services
from exams.checkin.models import CheckIn, CheckInCapture, CheckInMethod, CheckInStatus
from exams.sessions.bookings import exam_day
from exams.sessions.tickets import make_ticket_token, ticket_number
from opcert.accounts.services import LoginRefusedError
from opcert.audit.models import AuditEvent
from opcert.errors import DomainError
from opcert.extensions import db
from photos import storage
from photos.models import FaceDecision, FaceTemplate, Photo, PhotoSource
from photos.services import ConsentRequiredError, NoReferencePhotoError, PhotoRejectedError, subject_ref
from tests.exams.checkin.checkin_data import candidate, centre_staff, today_session
from tests.exams.sessions import sessions_data
from tests.factories import PASSWORD
from tests.photos.imagelib import capture_640x480, photo

DP01_LIBRARY = "identities/deepface__dp01/2.jpg"
DP01_SAME = "identities/deepface__dp01/5.jpg"  # 0.27 from the library photo: match
DP01_BORDERLINE = "identities/deepface__dp01/1.jpg"  # 0.38: review
DP02_LIBRARY = "identities/deepface__dp02/2.jpg"
DP02_OTHER = "identities/deepface__dp02/1.jpg"


@pytest.fixture
def desk(db):
    """A centre, a session starting now, a desk staff member and two booked candidates (dp01, dp02)."""
    where = sessions_data.centre()
    item = sessions_data.item()
    session = today_session(where, [item])
    first = candidate(session, item, library=DP01_LIBRARY, name="张一")
    second = candidate(session, item, library=DP02_LIBRARY, name="李二")
    return {"centre": where, "item": item, "session": session, "a": first, "b": second, "staff": centre_staff(where)}


def check(desk, booking, rel):
    checkin = services.check_face(
        viewer=desk["staff"], session_id=desk["session"].id, booking_id=booking.id, images=[capture_640x480(rel)]
    )
    db.session.commit()
    return checkin


def test_a_match_admits_and_everything_is_recorded(desk) -> None:
    checkin = check(desk, desk["a"], DP01_SAME)
    assert checkin.status is CheckInStatus.ADMITTED
    assert checkin.outcome == "match"
    assert services.admission(desk["a"].id) is checkin
    assert not checkin.standin_suspected
    capture = db.session.execute(sa.select(CheckInCapture)).scalar_one()
    decision = db.session.get(FaceDecision, capture.decision_id)
    assert capture.distance == decision.distance < capture.match_threshold
    assert capture.model_name == decision.model_name
    assert capture.staff_id == desk["staff"].id
    assert decision.evidence["templates"]
    assert decision.evidence["frames"]
    row = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "checkin.face_checked")).scalar_one()
    assert json.loads(row.details)["status"] == "admitted"


def test_a_second_check_in_is_refused(desk) -> None:
    check(desk, desk["a"], DP01_SAME)
    with pytest.raises(services.CheckInError) as info:
        check(desk, desk["a"], DP01_BORDERLINE)
    assert "已经入场" in info.value.message


def test_review_waits_for_the_desk_and_needs_a_reason(desk) -> None:
    checkin = check(desk, desk["a"], DP01_BORDERLINE)
    assert checkin.status is CheckInStatus.REVIEW
    assert checkin.outcome == "review"
    assert services.admission(desk["a"].id) is None
    reference, capture = services.decision_photos(checkin)
    assert reference
    assert capture
    assert reference != capture
    with pytest.raises(DomainError) as info:
        services.decide_review(viewer=desk["staff"], checkin_id=checkin.id, admit=True, reason=" ")
    assert "理由" in info.value.message
    services.decide_review(viewer=desk["staff"], checkin_id=checkin.id, admit=True, reason="与身份证照片一致")
    db.session.commit()
    assert services.admission(desk["a"].id).reason == "与身份证照片一致"


def test_no_match_needs_another_staff_members_password(desk) -> None:
    checkin = check(desk, desk["b"], DP01_BORDERLINE)
    assert checkin.status is CheckInStatus.SUPERVISOR
    assert checkin.outcome == "no_match"
    own = desk["staff"]
    with pytest.raises(DomainError) as info:
        services.decide_no_match(
            viewer=own,
            checkin_id=checkin.id,
            admit=False,
            reason="不是本人",
            supervisor_account=own.login_name,
            supervisor_password=PASSWORD,
            ip="127.0.0.1",
        )
    assert "另一名工作人员" in info.value.message
    db.session.rollback()
    boss = centre_staff(desk["centre"])
    with pytest.raises(LoginRefusedError):
        services.decide_no_match(
            viewer=own,
            checkin_id=checkin.id,
            admit=False,
            reason="不是本人",
            supervisor_account=boss.login_name,
            supervisor_password="wrong-password-1",
            ip="127.0.0.1",
        )
    db.session.rollback()
    services.decide_no_match(
        viewer=own,
        checkin_id=checkin.id,
        admit=False,
        reason="不是本人",
        supervisor_account=boss.login_name,
        supervisor_password=PASSWORD,
        ip="127.0.0.1",
    )
    db.session.commit()
    stored = db.session.get(CheckIn, checkin.id)
    assert stored.status is CheckInStatus.REFUSED
    assert stored.supervisor_id == boss.id
    assert services.admission(desk["b"].id) is None


def test_a_stand_in_is_flagged_by_the_search(desk) -> None:
    # dp01 (booked as A in this session) turns up with B's ticket.
    checkin = check(desk, desk["b"], DP01_SAME)
    assert checkin.outcome == "no_match"
    assert checkin.standin_suspected
    assert [m["booking_id"] for m in checkin.standin_matches] == [desk["a"].id]
    assert checkin.standin_matches[0]["distance"] <= checkin.standin_matches[0]["threshold"]


def test_no_face_and_two_faces_are_refused_and_audited(desk) -> None:
    for rel in ("noface/" + _first("noface"), "multi/ageitgey__two_people.jpg"):
        with pytest.raises(PhotoRejectedError):
            services.check_face(
                viewer=desk["staff"], session_id=desk["session"].id, booking_id=desk["a"].id, images=[photo(rel)]
            )
        db.session.commit()
    assert db.session.execute(sa.select(sa.func.count(CheckIn.id))).scalar_one() == 0
    refused = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "face.refused")).scalars().all()
    assert len(refused) == 2


def _first(folder: str) -> str:
    from tests.fixtures.faces import FACES

    return sorted(p.name for p in (FACES / folder).glob("*.jpg"))[0]


def test_the_scanned_text_finds_the_booking(desk) -> None:
    booking, session = desk["a"], desk["session"]
    token = make_ticket_token(booking.id, expires_at=session.ends_at)
    number = ticket_number(
        item_code=booking.item.code, exam_day=exam_day(session), session_id=session.id, seat=booking.seat
    )
    for text in (token, number, booking.trainee.id_number, f"  {number}\n"):
        assert services.find_candidate(viewer=desk["staff"], session_id=session.id, scanned=text).id == booking.id
    with pytest.raises(DomainError) as info:
        services.find_candidate(viewer=desk["staff"], session_id=session.id, scanned=token[:-3] + "xyz")
    assert "二维码无效" in info.value.message


def test_a_ticket_for_another_session_or_day_is_refused(desk) -> None:
    later = sessions_data.session(desk["centre"], [desk["item"]])
    other = candidate(later, desk["item"], library=DP02_LIBRARY)
    token = make_ticket_token(other.id, expires_at=later.ends_at)
    with pytest.raises(DomainError) as info:
        services.find_candidate(viewer=desk["staff"], session_id=desk["session"].id, scanned=token)
    assert "另一场考试" in info.value.message
    with pytest.raises(DomainError) as info:
        services.find_candidate(viewer=desk["staff"], session_id=later.id, scanned=token)
    assert "不在今天" in info.value.message


def test_without_consent_or_photo_staff_check_the_id_card(desk) -> None:
    session, item = desk["session"], desk["item"]
    for kwargs in ({"library": DP02_OTHER, "consent": False}, {"library": None, "consent": True}):
        booking = candidate(session, item, **kwargs)
        with pytest.raises((ConsentRequiredError, NoReferencePhotoError)):
            check(desk, booking, DP02_OTHER)
        db.session.commit()
        checkin = services.check_manually(
            viewer=desk["staff"],
            session_id=session.id,
            booking_id=booking.id,
            image=photo(DP02_OTHER),
            reason="已核对居民身份证",
        )
        db.session.commit()
        assert checkin.method is CheckInMethod.MANUAL
        assert checkin.photo_id is not None
        assert services.admission(booking.id) is checkin


def _manual(desk, booking):
    return services.check_manually(
        viewer=desk["staff"],
        session_id=desk["session"].id,
        booking_id=booking.id,
        image=photo(DP02_OTHER),
        reason="已核对居民身份证",
    )


def test_a_manual_capture_is_the_photo_for_this_exam_only(desk) -> None:
    booking = candidate(desk["session"], desk["item"], library=DP02_OTHER, consent=False)
    ref = subject_ref(booking.trainee.id_number)
    templates_before = db.session.execute(
        sa.select(sa.func.count()).select_from(FaceTemplate).where(FaceTemplate.subject_ref == ref)
    ).scalar_one()
    checkin = _manual(desk, booking)
    db.session.commit()
    exam_photo = db.session.get(Photo, checkin.photo_id)
    assert exam_photo.source is PhotoSource.CHECKIN
    assert not exam_photo.is_current
    assert exam_photo.reference_since is None
    assert exam_photo.templates == []
    templates_after = db.session.execute(
        sa.select(sa.func.count()).select_from(FaceTemplate).where(FaceTemplate.subject_ref == ref)
    ).scalar_one()
    assert templates_after == templates_before  # no face template kept without the candidate's consent
    assert storage.path_for(exam_photo.storage_key).read_bytes()[:2] == b"\xff\xd8"
    assert services.decision_photos(checkin) == (None, exam_photo.view_key)


def test_a_manual_capture_leaves_no_file_when_the_transaction_rolls_back(desk) -> None:
    booking = candidate(desk["session"], desk["item"], library=None, consent=False)
    checkin = _manual(desk, booking)
    key = db.session.get(Photo, checkin.photo_id).storage_key
    assert storage.path_for(key).exists()  # written inside the transaction...
    db.session.rollback()
    assert not storage.path_for(key).exists()  # ...and removed with it
    assert db.session.execute(sa.select(Photo).where(Photo.storage_key == key)).scalar_one_or_none() is None
    assert services.admission(booking.id) is None
    checkin = _manual(desk, booking)  # the desk tries again: this time it commits and the file stays
    db.session.commit()
    assert storage.path_for(db.session.get(Photo, checkin.photo_id).storage_key).exists()


def test_a_manual_check_is_refused_when_a_face_check_is_possible(desk) -> None:
    with pytest.raises(services.CheckInError):
        services.check_manually(
            viewer=desk["staff"],
            session_id=desk["session"].id,
            booking_id=desk["a"].id,
            image=photo(DP01_SAME),
            reason="已核对",
        )


def test_staff_of_another_centre_see_nothing(desk) -> None:
    from opcert.errors import NotFoundError

    stranger = centre_staff(sessions_data.centre())
    with pytest.raises(NotFoundError):
        services.desk(viewer=stranger, session_id=desk["session"].id, booking_id=desk["a"].id)
