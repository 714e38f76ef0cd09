"""`opcert demo`: the demo certificate comes from the real path (results, application, acceptance, approval)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask

from opcert.accounts.services import find_user_by_login
from opcert.certificates import services
from opcert.certificates.applications_models import ApplicationStatus, CertificateApplication
from opcert.demo import TRAINEE_ID
from opcert.extensions import db


def test_the_demo_certificate_is_approved_from_an_application_once(app: Flask, runner: Any) -> None:
    for _ in range(2):
        result = runner.invoke(args=["demo"])
        assert result.exit_code == 0, result.output
        assert "demo certificate T" in result.output
    with app.app_context():
        trainee = find_user_by_login(TRAINEE_ID)
        (certificate,) = services.holder_certificates(trainee.id)
        assert (float(certificate.theory_score), float(certificate.practical_score)) == (88.0, 91.0)
        assert certificate.practical_session_id is not None
        (application,) = db.session.execute(sa.select(CertificateApplication)).scalars()
        assert application.status is ApplicationStatus.APPROVED
        assert application.certificate_id == certificate.id
