"""The administrators' calendar page: public holidays and 调休 working days, by year."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from opcert.access import Role, allow
from opcert.calendar import services
from opcert.calendar.forms import DayForm
from opcert.calendar.models import DayKind
from opcert.errors import DomainError, report_refusal
from opcert.extensions import db
from opcert.forms import ConfirmForm
from opcert.timeutil import local_today

bp = Blueprint("calendar", __name__, template_folder="templates")


def _year() -> int:
    try:
        year = int(request.args.get("year", ""))
    except ValueError:
        return local_today().year
    return year if 2000 <= year <= 2100 else local_today().year


@bp.route("/admin/calendar", methods=["GET", "POST"])
@allow(Role.ADMIN)
def admin_calendar() -> str | Response:
    """The year's holidays and 调休 working days; add or change one."""
    form = DayForm()
    year = _year()
    if form.validate_on_submit() and form.day.data is not None:
        try:
            services.save_day(
                day=form.day.data, kind=DayKind(form.kind.data), name=form.name.data or "", actor_id=current_user.id
            )
        except DomainError as exc:
            report_refusal(exc, form)
        else:
            db.session.commit()
            flash(_("日历已保存。"), "success")
            return redirect(url_for("calendar.admin_calendar", year=form.day.data.year))
    return render_template(
        "calendar/admin.html", form=form, year=year, days=services.days_of_year(year), remove_form=ConfirmForm()
    )


@bp.route("/admin/calendar/<int:day_id>/remove", methods=["POST"])
@allow(Role.ADMIN)
def remove_day(day_id: int) -> Response:
    """Take a day off the calendar."""
    year = None
    if ConfirmForm().validate_on_submit():
        row = services.remove_day(day_id=day_id, actor_id=current_user.id)
        db.session.commit()
        flash(_("已从日历中删除 %(day)s。", day=row.day.isoformat()), "success")
        year = row.day.year
    return redirect(url_for("calendar.admin_calendar", year=year))
