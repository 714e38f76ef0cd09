"""Forms shared by every domain, and their base: a field reads only what a browser's form would send it.

Flask-WTF feeds a form from request.form and request.files merged (so a text field given a file part gets a
FileStorage) and, for a JSON body, from the decoded JSON (any shape). Either made a validator fail with a 500.
Here text fields read the text parts, file fields the file parts, and nothing else is form data.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import Field, FileField, SubmitField, ValidationError


class WebForm(FlaskForm):
    """A FlaskForm whose submitted data is the request's form fields, plus uploads for its file fields only."""

    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form: Any, formdata: Any) -> Any:
            """Explicit form data as given; else, on a submission, the text parts and the file fields' uploads."""
            if formdata is None or hasattr(formdata, "getlist"):
                return formdata
            if not form.is_submitted():
                return None
            file_fields = {field.name for field in form if isinstance(field, FileField)}
            data: MultiDict[str, Any] = MultiDict(request.form.items(multi=True))
            for name, upload in request.files.items(multi=True):
                if name in file_fields:
                    data.add(name, upload)
            return data


class WithinYears:
    """A date or date-time field's value lies in the years first..last.

    A browser's date picker allows years 1 to 9999, and year 1 in local time is before the earliest UTC datetime
    Python can hold (the conversion would fail with a 500).
    """

    def __init__(self, first: int = 2000, last: int = 2100) -> None:
        self.first = first
        self.last = last

    def __call__(self, form: Any, field: Field) -> None:
        """Refuse a value outside the years."""
        if field.data is not None and not self.first <= field.data.year <= self.last:
            raise ValidationError(_l("日期应在%(first)d年至%(last)d年之间。", first=self.first, last=self.last))


class ConfirmForm(WebForm):
    """An empty form: a POST button with its CSRF token."""

    submit = SubmitField(_l("确定"))
