"""Certificates' grant in the photo registry: an officer sees the faces of applicants of the officer's authority."""

from __future__ import annotations

import hmac

import sqlalchemy as sa
from flask.blueprints import BlueprintSetupState

from opcert.access import Role
from opcert.accounts.models import User
from opcert.certificates.applications_models import CertificateApplication
from opcert.extensions import db
from photos.access import register_grant
from photos.services import subject_ref

PURPOSE = "certificate_review"


def applicant_of_viewers_authority(viewer: User, ref: str) -> bool:
    """Whether subject `ref` applied for a certificate to the officer's authority."""
    if viewer.role is not Role.OFFICER or viewer.organisation_id is None:
        return False
    numbers = db.session.execute(
        sa.select(User.id_number)
        .join(CertificateApplication, CertificateApplication.user_id == User.id)
        .where(CertificateApplication.authority_id == viewer.organisation_id, User.id_number.is_not(None))
        .distinct()
    ).scalars()
    # Photo rows carry only the HMAC of the ID number, so the applicants' numbers are turned into references.
    return any(hmac.compare_digest(subject_ref(number), ref) for number in numbers if number)


def register(state: BlueprintSetupState) -> None:
    """Put the grant in the app's photo registry (called when the certificates blueprint is registered)."""
    register_grant(state.app, PURPOSE, applicant_of_viewers_authority)
