"""Who may see a person's face photo, and for which purpose: a registry the layers above fill.

Photos knows nothing of exams or certificates, so each of them registers its grants here: a purpose name and a
check `(viewer, subject_ref) -> bool` (exams: "candidate booked at the viewer's centre"; certificates, later:
"application the officer handles"). The person themself and administrators with a stated reason are handled by
`photos.services.view_photo`; every other viewer needs a grant whose check says yes.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app
from flask.sansio.app import App

from opcert.accounts.models import User

PhotoGrant = Callable[[User, str], bool]
EXTENSION = "opcert.photo_grants"


def register_grant(app: App, purpose: str, check: PhotoGrant) -> None:
    """Let a viewer see a subject's photos for `purpose` whenever `check(viewer, subject_ref)` is true."""
    grants: dict[str, PhotoGrant] = app.extensions.setdefault(EXTENSION, {})
    grants[purpose] = check


def granted_purpose(viewer: User, ref: str) -> str | None:
    """The purpose of the first registered grant that lets `viewer` see photos of subject `ref`, else None."""
    grants: dict[str, PhotoGrant] = current_app.extensions.get(EXTENSION, {})
    for purpose, check in grants.items():
        if check(viewer, ref):
            return purpose
    return None
