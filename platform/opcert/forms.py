"""Forms shared by every domain."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SubmitField


class ConfirmForm(FlaskForm):
    """An empty form: a POST button with its CSRF token."""

    submit = SubmitField(_l("确定"))
