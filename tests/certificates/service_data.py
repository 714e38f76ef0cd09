"""Test data for the mail queue and 好差评: a certificate issued through an application, mailed or not."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Flask

from opcert.accounts.models import Organisation, User
from opcert.audit.models import AuditEvent
from opcert.certificates import applications as apps
from opcert.certificates import mail
from opcert.certificates.applications_models import CertificateApplication, Delivery
from opcert.certificates.service_models import Mailing
from opcert.extensions import db
from opcert.notifications.models import Notification
from tests.certificates import applications_data as data

ADDRESS = apps.MailAddress(address="上海市浦东新区世纪大道100号", recipient="王小明", phone="13800001234")
GOOD_EMS = "EA123456785CN"  # UPU S10: 8·1+6·2+4·3+2·4+3·5+5·6+9·7+7·8 = 204, 11 − 204 mod 11 = 5


def approved(
    app: Flask,
    *,
    delivery: Delivery = Delivery.MAIL,
    authority: tuple[Organisation, User] | None = None,
    now: dt.datetime | None = None,
) -> tuple[CertificateApplication, User]:
    """An application approved by the authority's officer (committed): (application, officer)."""
    _authority, officer = authority or data.bureau(app)
    user, item = data.passed()
    application = apps.submit_application(
        user=user,
        item=item,
        signed=True,
        delivery=delivery,
        mail=ADDRESS if delivery is Delivery.MAIL else apps.MailAddress(),
    )
    apps.accept(officer=officer, application=application)
    apps.approve(officer=officer, application=application, now=now)
    db.session.commit()
    return application, officer


def mailing_of(application: CertificateApplication) -> Mailing | None:
    """The mailing queued for the application, if any."""
    return db.session.execute(sa.select(Mailing).where(Mailing.source == f"application:{application.id}")).scalar()


def sent(app: Flask) -> tuple[Mailing, User]:
    """A mailed card, sent by EMS (committed): (mailing, officer)."""
    application, officer = approved(app)
    mailing = mailing_of(application)
    assert mailing is not None
    mail.mark_sent(officer=officer, mailing=mailing, courier="ems", tracking_number=GOOD_EMS)
    db.session.commit()
    return mailing, officer


def audits(action: str) -> int:
    """How many audit rows of this action there are."""
    return db.session.execute(sa.select(sa.func.count()).where(AuditEvent.action == action)).scalar_one()


def notices(user_id: int, kind: str) -> list[str]:
    """The bodies of the person's notifications of one kind, oldest first."""
    return list(
        db.session.execute(
            sa.select(Notification.body)
            .where(Notification.user_id == user_id, Notification.kind == kind)
            .order_by(Notification.id)
        ).scalars()
    )
