"""Catalogue pages: the public list of items examined here, and the administrators' editor."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from opcert.access import PUBLIC, Role, allow
from opcert.catalogue import services
from opcert.catalogue.forms import CategoryForm, ItemForm
from opcert.catalogue.models import ITEM_SETTINGS, Category, Item
from opcert.errors import DomainError, report_refusal
from opcert.extensions import db

bp = Blueprint("catalogue", __name__, template_folder="templates")


@bp.route("/catalogue")
@allow(PUBLIC)
def index() -> str:
    """Operation items examined in this deployment, with hours and exam formats."""
    return render_template("catalogue/index.html", categories=services.list_categories(offered_only=True))


@bp.route("/admin/catalogue")
@allow(Role.ADMIN)
def admin_index() -> str:
    """Every category and item, offered or not."""
    return render_template("catalogue/admin_index.html", categories=services.list_categories())


@bp.route("/admin/catalogue/categories/new", methods=["GET", "POST"], defaults={"category_id": None})
@bp.route("/admin/catalogue/categories/<int:category_id>/edit", methods=["GET", "POST"])
@allow(Role.ADMIN)
def admin_category(category_id: int | None) -> str | Response:
    """Create or edit a category."""
    category: Category | None = None
    if category_id is not None:
        category = services.get_category(category_id)
    form = CategoryForm(obj=category)
    if form.validate_on_submit():
        try:
            services.save_category(
                category=category, code=form.code.data or "", name=form.name.data or "", name_en=form.name_en.data or ""
            )
        except DomainError as exc:
            report_refusal(exc, form)
        else:
            db.session.commit()
            flash(_("作业类别已保存。"), "success")
            return redirect(url_for("catalogue.admin_index"))
    return render_template("catalogue/admin_category.html", form=form, category=category)


@bp.route("/admin/catalogue/items/new", methods=["GET", "POST"], defaults={"item_id": None})
@bp.route("/admin/catalogue/items/<int:item_id>/edit", methods=["GET", "POST"])
@allow(Role.ADMIN)
def admin_item(item_id: int | None) -> str | Response:
    """Create or edit an operation item."""
    item: Item | None = None
    if item_id is not None:
        item = services.get_item(item_id)
    form = ItemForm(obj=item)
    form.category_id.choices = [(c.id, f"{c.code} {c.name}") for c in services.list_categories()]
    if item is not None and not form.is_submitted():
        form.education.data = item.education.value
    if form.validate_on_submit():
        try:
            services.save_item(
                item=item,
                category_id=form.category_id.data or 0,
                code=form.code.data or "",
                name=form.name.data or "",
                name_en=form.name_en.data or "",
                settings={key: getattr(form, key).data for key in ITEM_SETTINGS},
            )
        except DomainError as exc:
            report_refusal(exc, form)
        else:
            db.session.commit()
            flash(_("操作项目已保存。"), "success")
            return redirect(url_for("catalogue.admin_index"))
    return render_template("catalogue/admin_item.html", form=form, item=item)
