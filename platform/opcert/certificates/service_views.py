"""Pages after issuance: the mail queue (officers), the holder's mailings and ratings, follow-ups and the report."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from opcert.access import Role, allow
from opcert.certificates import mail, ratings
from opcert.certificates.forms import ActionForm
from opcert.certificates.service_forms import AddressForm, CloseFollowUpForm, RateForm, ReturnedForm, SentForm
from opcert.certificates.service_models import Mailing, MailingStatus
from opcert.certificates.views import bp
from opcert.errors import DomainError, NotFoundError, flash_form_errors, show_errors
from opcert.extensions import db
from opcert.forms import WebForm
from opcert.timeutil import local_today

T = TypeVar("T")


@bp.app_template_global()
def my_mailings() -> list[Mailing]:
    """The signed-in person's mailings, for the status and tracking number on their certificate pages."""
    if not current_user.is_authenticated or current_user.role is not Role.TRAINEE:
        return []
    return mail.my_mailings(current_user.id)


@bp.app_template_global()
def courier_label(code: str) -> str:
    """A courier's name for people ("" when none is recorded yet)."""
    courier = mail.COURIERS.get(code)
    return str(courier.label) if courier else ""


@bp.route("/certificates/mail")
@allow(Role.OFFICER)
def mail_queue() -> str:
    """The authority's mailings: to pack and send, sent, or (?status=) delivered or returned."""
    wanted = request.args.get("status", "")
    status = MailingStatus(wanted) if wanted in set(MailingStatus) else None
    return render_template(
        "certificates/mail/queue.html",
        rows=mail.mail_queue(current_user, status),
        status=status,
        statuses=list(MailingStatus),
        sent_form=SentForm(),
        returned_form=ReturnedForm(),
        action_form=ActionForm(),
        couriers=mail.COURIERS,
        matters=mail.MATTER_LABELS,
    )


def _step(back: str, load: Callable[[], T], form: WebForm, act: Callable[[T], object], done: str) -> Response:
    """Load what the officer may act on, check the form, run one step, commit once, then back to the list."""
    try:
        target = load()
        if not form.validate_on_submit():
            flash_form_errors(form)
            return redirect(back)
        act(target)
        db.session.commit()
    except NotFoundError:
        raise  # its handler answers with the 404 page
    except DomainError as exc:
        db.session.commit()  # the steps refuse before changing anything: only a refusal's audit row is kept
        show_errors(exc)
        return redirect(back)
    flash(done, "success")
    return redirect(back)


def _mail_step(mailing_id: int, form: WebForm, step: Callable[[Mailing], object]) -> Response:
    """One step on a mailing of the officer's authority, then back to the queue."""
    return _step(
        url_for("certificates.mail_queue"),
        lambda: mail.managed_mailing(current_user, mailing_id),
        form,
        step,
        _("已办理。"),
    )


@bp.route("/certificates/mail/<int:mailing_id>/sent", methods=["POST"])
@allow(Role.OFFICER)
def mail_sent(mailing_id: int) -> Response:
    """Record the courier and tracking number: sent."""
    form = SentForm()
    courier, number = form.courier.data or "", form.tracking_number.data or ""
    return _mail_step(
        mailing_id,
        form,
        lambda m: mail.mark_sent(officer=current_user, mailing=m, courier=courier, tracking_number=number),
    )


@bp.route("/certificates/mail/<int:mailing_id>/delivered", methods=["POST"])
@allow(Role.OFFICER)
def mail_delivered(mailing_id: int) -> Response:
    """The card was signed for."""
    return _mail_step(
        mailing_id,
        ActionForm(),
        lambda m: mail.mark_delivered(officer=current_user, mailing=m),
    )


@bp.route("/certificates/mail/<int:mailing_id>/returned", methods=["POST"])
@allow(Role.OFFICER)
def mail_returned(mailing_id: int) -> Response:
    """The card came back, with the reason."""
    form = ReturnedForm()
    reason = form.reason.data or ""
    return _mail_step(
        mailing_id,
        form,
        lambda m: mail.mark_returned(officer=current_user, mailing=m, reason=reason),
    )


@bp.route("/certificates/mail/<int:mailing_id>/address", methods=["GET", "POST"])
@allow(Role.TRAINEE)
def readdress(mailing_id: int) -> ResponseReturnValue:
    """The holder corrects the address of a returned card, which is then mailed again."""
    mailing = mail.own_mailing(current_user, mailing_id)
    form = AddressForm(obj=mailing)
    if form.validate_on_submit():
        try:
            mail.readdress(
                holder=current_user,
                mailing=mailing,
                address=form.address.data or "",
                recipient=form.recipient.data or "",
                phone=form.phone.data or "",
            )
            db.session.commit()
            flash(_("地址已更正，证卡将重新邮寄。"), "success")
            return redirect(url_for("certificates.my_certificates"))
        except DomainError as exc:
            db.session.rollback()
            show_errors(exc, form)
    return render_template("certificates/mail/address.html", form=form, mailing=mailing)


@bp.route("/certificates/ratings")
@allow(Role.TRAINEE)
def my_ratings() -> str:
    """The person's completed matters, to rate once each."""
    return render_template("certificates/ratings/mine.html", rows=ratings.completed_matters(current_user.id))


@bp.route("/certificates/ratings/<kind>/<int:subject_id>", methods=["GET", "POST"])
@allow(Role.TRAINEE)
def rate(kind: str, subject_id: int) -> ResponseReturnValue:
    """Rate one completed matter (once)."""
    form = RateForm()
    try:
        matter = ratings.matter_to_rate(current_user, kind, subject_id)
        if form.validate_on_submit():
            ratings.rate(user=current_user, matter=matter, level=form.level.data or "", comment=form.comment.data or "")
            db.session.commit()
            flash(_("感谢您的评价。"), "success")
            return redirect(url_for("certificates.my_ratings"))
    except NotFoundError:
        raise  # its handler answers with the 404 page
    except DomainError as exc:
        db.session.commit()  # the refusal's audit row is kept; nothing else was written
        show_errors(exc, form)
        return redirect(url_for("certificates.my_ratings"))
    return render_template(
        "certificates/ratings/rate.html", form=form, matter=matter, given=ratings.rating_of(matter.subject)
    )


@bp.route("/certificates/follow-ups")
@allow(Role.OFFICER)
def follow_ups() -> str:
    """The authority's follow-ups of bad ratings, overdue ones warned."""
    rows = ratings.follow_ups(current_user, local_today())
    overdue = sum(state == "overdue" for _f, state in rows)
    if overdue:
        flash(_("有%(n)d件差评整改已超过办结期限，请尽快办结。", n=overdue), "danger")
    return render_template(
        "certificates/ratings/follow_ups.html", rows=rows, form=CloseFollowUpForm(), matters=ratings.MATTERS
    )


@bp.route("/certificates/follow-ups/<int:follow_up_id>/close", methods=["POST"])
@allow(Role.OFFICER)
def close_follow_up(follow_up_id: int) -> Response:
    """Close a follow-up with what was done."""
    form = CloseFollowUpForm()
    note = form.note.data or ""
    return _step(
        url_for("certificates.follow_ups"),
        lambda: ratings.managed_follow_up(current_user, follow_up_id),
        form,
        lambda f: ratings.close_follow_up(officer=current_user, follow_up=f, note=note),
        _("差评整改已办结。"),
    )


@bp.route("/certificates/ratings/report")
@allow(Role.OFFICER, Role.ADMIN)
def ratings_report() -> str:
    """好差评 by matter and month: counts per level, bad-rating share, follow-ups on time."""
    return render_template("certificates/ratings/report.html", rows=ratings.report(current_user, local_today()))


@bp.route("/certificates/ratings/report.csv")
@allow(Role.OFFICER, Role.ADMIN)
def ratings_report_csv() -> Response:
    """The same report as CSV."""
    body = ratings.report_csv(ratings.report(current_user, local_today()))
    response = Response(body, mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = 'attachment; filename="ratings-report.csv"'
    return response
