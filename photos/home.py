"""The trainee's photo step on the home page: says what is true for this person (library photo, upload, none)."""

from __future__ import annotations

from flask import current_app, url_for
from flask_babel import gettext as _

from opcert.access import Role
from opcert.accounts.models import User
from opcert.home import Link, Step, register_panel
from photos.services import ReferenceCase, reference_status


def photo_step(user: User) -> list[Step]:
    """Step 1: the reference photo — taken from the unified library when it has one, else uploaded."""
    status = reference_status(user.id_number or "")
    years = int(current_app.config["PHOTO_MAX_AGE_YEARS"])
    page = url_for("photos.my_photo")
    title = _("证件照片")
    if status.case is ReferenceCase.LIBRARY:
        return [Step(title, True, _("已从本市统一照片库调取您的照片，无需上传。"), Link(_("查看"), page))]
    if status.case is ReferenceCase.UPLOADED:
        detail = _("本市统一照片库中没有您近%(n)d年内的照片，将使用您上传的照片。", n=years)
        return [Step(title, True, detail, Link(_("查看或更换"), page))]
    if status.case is ReferenceCase.UNAVAILABLE:
        detail = _("本市统一照片库暂时无法访问，暂不能确认您是否需要上传照片，请稍后再看。")
        return [Step(title, False, detail, Link(_("我的照片"), page))]
    if status.library_photo_too_old:
        detail = _("本市统一照片库中您的照片已超过%(n)d年，请上传一张本人近期正面免冠照片。", n=years)
    else:
        detail = _("本市统一照片库中没有您的照片，请上传一张本人近期正面免冠照片。")
    return [Step(title, False, detail, Link(_("上传照片"), page))]


def register_home_panels() -> None:
    """Put the photo step first on the trainee's home page."""
    register_panel(Role.TRAINEE, photo_step, order=10)
