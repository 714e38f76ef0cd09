"""Sanctions on a certificate (暂扣, 撤销, 注销 and lifting a suspension): the legal ground, the period, the bar.

Each sanction is the legal record behind one status change (CertificateEvent); like the history it is never
changed or deleted. The grounds are fixed lists of codes; a ground may carry a bar on a new application.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from opcert.certificates.models import Certificate, CertificateEvent, CertificateStatus, HistoryTamperingError
from opcert.db import Base, UTCDateTime, str_enum, utcnow


class SanctionKind(enum.StrEnum):
    """What the officer did."""

    SUSPEND = "suspend"
    LIFT = "lift"
    REVOKE = "revoke"
    CANCEL = "cancel"

    @property
    def label(self) -> LazyString:
        """The action's name for people."""
        return KIND_LABELS[self]


KIND_LABELS = {
    SanctionKind.SUSPEND: _l("暂扣"),
    SanctionKind.LIFT: _l("解除暂扣"),
    SanctionKind.REVOKE: _l("撤销"),
    SanctionKind.CANCEL: _l("注销"),
}


@dataclasses.dataclass(frozen=True)
class Ground:
    """A legal ground: its name, whether it bars a new application, and the statuses it may be used from."""

    label: LazyString
    bars: bool = False
    only_from: frozenset[CertificateStatus] | None = None  # None: any status the transition allows


GROUNDS: dict[SanctionKind, dict[str, Ground]] = {
    SanctionKind.SUSPEND: {
        "violation": Ground(_l("违反安全操作规程作业")),
        "accident_investigation": Ground(_l("涉嫌对生产安全事故负有责任，调查期间")),
        "commitment_check": Ground(_l("告知承诺内容待核查")),
        "other_law": Ground(_l("法律、法规规定的其他情形")),
    },
    SanctionKind.LIFT: {
        "period_ended": Ground(_l("暂扣期满")),
        "cleared": Ground(_l("经查不予处罚")),
        "corrected": Ground(_l("已整改并经考核合格")),
    },
    SanctionKind.REVOKE: {
        "expired_unextended": Ground(_l("超过有效期未延期复审"), only_from=frozenset({CertificateStatus.EXPIRED})),
        "unfit": Ground(_l("身体条件已不适合继续从事特种作业")),
        "accident": Ground(_l("对发生生产安全事故负有责任")),
        "false_info": Ground(_l("特种作业操作证记载虚假信息"), bars=True),
        "false_commitment": Ground(_l("告知承诺内容不实"), bars=True),
        "fraud": Ground(_l("以欺骗、贿赂等不正当手段取得"), bars=True),
    },
    SanctionKind.CANCEL: {
        "death": Ground(_l("持证人死亡")),
        "incapacity": Ground(_l("持证人丧失民事行为能力")),
        "request": Ground(_l("持证人本人申请注销")),
        "revoked": Ground(_l("证书已被依法撤销"), only_from=frozenset({CertificateStatus.REVOKED})),
        "expired": Ground(_l("有效期届满未复审"), only_from=frozenset({CertificateStatus.EXPIRED})),
    },
}


class CertificateSanction(Base):
    """One sanction: its kind, legal ground and explanation, the suspension's end, the bar on a new application."""

    __tablename__ = "certificate_sanctions"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(sa.ForeignKey("certificates.id"), index=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("certificate_events.id"), unique=True)
    kind: Mapped[SanctionKind] = mapped_column(str_enum(SanctionKind, "certificate_sanction_kind", 16))
    ground: Mapped[str] = mapped_column(sa.String(30))
    text: Mapped[str] = mapped_column(sa.String(500))
    on: Mapped[dt.date] = mapped_column(sa.Date, index=True)
    until: Mapped[dt.date | None] = mapped_column(sa.Date)  # a suspension's last day
    bars_until: Mapped[dt.date | None] = mapped_column(sa.Date)  # no new application for the item before this day
    officer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    certificate: Mapped[Certificate] = relationship()
    event: Mapped[CertificateEvent] = relationship()

    @property
    def ground_label(self) -> str:
        """The ground's name for people (the code itself for one this version does not know)."""
        ground = GROUNDS[self.kind].get(self.ground)
        return str(ground.label) if ground else self.ground

    def __repr__(self) -> str:
        return f"<CertificateSanction {self.id} cert={self.certificate_id} {self.kind.value} {self.ground}>"


@event.listens_for(Session, "before_flush")
def _refuse_sanction_changes(session: Session, flush_context: object, instances: object) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, CertificateSanction) and (obj in session.deleted or session.is_modified(obj)):
            raise HistoryTamperingError("certificate sanctions are append-only")


class CancellationRequest(Base):
    """A holder's online request to cancel their own certificate (注销申请); closed by the officer's cancellation."""

    __tablename__ = "certificate_cancellation_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(sa.ForeignKey("certificates.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(sa.String(500), default="")
    open_key: Mapped[int | None] = mapped_column(sa.Integer, unique=True)  # the certificate's id while open
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    sanction_id: Mapped[int | None] = mapped_column(sa.ForeignKey("certificate_sanctions.id"))

    certificate: Mapped[Certificate] = relationship()

    def __repr__(self) -> str:
        return f"<CancellationRequest {self.id} cert={self.certificate_id} {'open' if self.open_key else 'closed'}>"
