"""The competent authority's pages: routing rules (administrators), service guides (public, edited by
administrators, versioned), and the camera frames of the public verification page."""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from opcert.access import PUBLIC, Role, allow
from opcert.catalogue import services as catalogue
from opcert.certificates import camera, guides, public, routing
from opcert.certificates.authority_forms import ANY, GuideForm, RuleForm
from opcert.certificates.authority_models import Matter
from opcert.certificates.verify import MAX_IMAGE_BYTES
from opcert.errors import DomainError, report_refusal
from opcert.extensions import db
from opcert.forms import ConfirmForm

bp = Blueprint("authority", __name__, template_folder="templates")


# Routing rules (事权下放).


def _rule_choices(form: RuleForm) -> None:
    categories = catalogue.list_categories()
    form.category_id.choices = [(0, ANY)] + [(c.id, f"{c.code} {c.name}") for c in categories]
    form.item_id.choices = [(0, ANY)] + [(i.id, f"{i.code} {i.name}") for c in categories for i in c.items]
    form.authority_id.choices = [(o.id, o.name) for o in routing.active_authorities()]


@bp.route("/admin/routing", methods=["GET", "POST"], defaults={"rule_id": None})
@bp.route("/admin/routing/<int:rule_id>", methods=["GET", "POST"])
@allow(Role.ADMIN)
def admin_rules(rule_id: int | None) -> str | Response:
    """The routing rules, most specific first; add one, or edit the one in the address."""
    rule = routing.get_rule(rule_id) if rule_id is not None else None
    form = RuleForm(obj=rule)
    _rule_choices(form)
    if rule is not None and not form.is_submitted():
        form.category_id.data, form.item_id.data = rule.category_id or 0, rule.item_id or 0
    if form.validate_on_submit():
        spec = routing.RuleSpec(
            matter=form.matter.data or "",
            category_id=form.category_id.data or None,
            item_id=form.item_id.data or None,
            district=form.district.data or "",
            authority_id=form.authority_id.data or 0,
            note=form.note.data or "",
        )
        try:
            routing.save_rule(rule=rule, spec=spec, actor=current_user)
        except DomainError as exc:
            report_refusal(exc, form)
        else:
            db.session.commit()
            flash(_("分派规则已保存。"), "success")
            return redirect(url_for("authority.admin_rules"))
    return render_template(
        "certificates/routing.html",
        form=form,
        rule=rule,
        rules=[(r, routing.describe(r)) for r in routing.list_rules()],
        default=_default_name(),
        remove_form=ConfirmForm(),
    )


def _default_name() -> str:
    try:
        return routing.default_authority().name
    except routing.RoutingError as exc:
        return exc.message


@bp.route("/admin/routing/<int:rule_id>/remove", methods=["POST"])
@allow(Role.ADMIN)
def remove_rule(rule_id: int) -> Response:
    """Remove a routing rule."""
    rule = routing.get_rule(rule_id)
    if ConfirmForm().validate_on_submit():
        routing.remove_rule(rule=rule, actor=current_user)
        db.session.commit()
        flash(_("分派规则已删除。"), "success")
    return redirect(url_for("authority.admin_rules"))


# Service guides (办事指南).


@bp.route("/guides")
@allow(PUBLIC)
def guide_index() -> str:
    """Every matter's guide, with the date of its last change."""
    return render_template("certificates/guides.html", rows=[(m, guides.current_version(m)) for m in Matter])


@bp.route("/guides/<matter>", defaults={"number": None})
@bp.route("/guides/<matter>/v<int:number>")
@allow(PUBLIC)
def show_guide(matter: str, number: int | None) -> str:
    """A matter's guide (the version in force, or an earlier one), with the date of each change."""
    chosen = guides.parse_matter(matter)
    current = guides.current_version(chosen)
    shown = guides.version_of(chosen, number) if number is not None else current
    guide = guides.guide_for(chosen)
    return render_template(
        "certificates/guide.html",
        matter=chosen,
        version=shown,
        current=current,
        history=guide.versions if guide else [],
        sections=guides.SECTIONS,
        faq=guides.faq_pairs(shown.faq) if shown else [],
    )


@bp.route("/admin/guides/<matter>", methods=["GET", "POST"])
@allow(Role.ADMIN)
def edit_guide(matter: str) -> str | Response:
    """Edit a matter's guide: saving writes a new version."""
    chosen = guides.parse_matter(matter)
    current = guides.current_version(chosen)
    form = GuideForm(obj=current)
    if current is not None and not form.is_submitted():
        form.note.data = ""
    if form.validate_on_submit():
        text = guides.GuideText(**{name: getattr(form, name).data or "" for name in guides.SECTIONS})
        try:
            guides.save_guide(matter=chosen, text=text, note=form.note.data or "", editor=current_user)
        except DomainError as exc:
            report_refusal(exc, form)
        else:
            db.session.commit()
            flash(_("办事指南已保存为新版本。"), "success")
            return redirect(url_for("authority.show_guide", matter=chosen.value))
    return render_template("certificates/guide_edit.html", form=form, matter=chosen, current=current)


# The public verification page's camera.


@bp.route("/certificates/verify/frame", methods=["POST"])
@allow(PUBLIC)
def verify_frame() -> Response | tuple[Response, int]:
    """A camera frame from the verification page: the QR code's text when the frame shows one; too many frames
    from one address (or an address held back) are refused with 429 and the wait."""
    try:
        public.admit_frame(ip=request.remote_addr or "")
    except DomainError as exc:
        db.session.commit()  # the refusal's audit row
        return jsonify({"found": False, "text": "", "error": exc.message}), 429
    db.session.commit()  # the frame is counted
    upload = request.files.get("frame")
    data = upload.read(MAX_IMAGE_BYTES + 1) if upload is not None else b""
    text = camera.scan_frame(data) if data else None
    return jsonify({"found": text is not None, "text": text or ""})
