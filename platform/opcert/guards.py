"""Checks every request passes before any view runs, so that no input a client can send fails inside the database.

- Integers in paths stay within the database's INTEGER range (a larger number is an unknown page: 404).
- No NUL character anywhere a value can come from (path, query string, form fields, file names, headers):
  PostgreSQL cannot store one in a text column, and a NUL has no business in any form of this site.
- The client address is a real IP address (it is written to audit rows and throttling keys).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from flask import Flask, current_app, request
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter, Map

from opcert.errors import RequestRefusedError

# PostgreSQL INTEGER, the type of every id column.
DB_INT_MAX = 2**31 - 1
MAX_ADDRESS_LENGTH = 45


class BoundedIntegerConverter(IntegerConverter):
    """`<int:...>` path segments up to DB_INT_MAX; a larger number matches no route."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", DB_INT_MAX)
        super().__init__(map, *args, **kwargs)


def register_input_guards(app: Flask) -> None:
    """Bound path integers and check every request before the other hooks (call before registering routes)."""
    app.url_map.converters["int"] = BoundedIntegerConverter
    app.before_request(refuse_bad_input)


def refuse_bad_input() -> None:
    """Refuse (400, with the reason in Chinese) a request carrying a NUL character or a malformed client address."""
    where = nul_location()
    if where is not None:
        current_app.logger.warning("refused %s %s: NUL character in %s", request.method, request.path, where)
        raise RequestRefusedError(_("提交的内容中含有不允许的空字符（NUL），请删除后重新提交。"))
    address = request.remote_addr or ""
    if address and not _is_ip_address(address):
        current_app.logger.warning("refused %s %s: client address %.60r", request.method, request.path, address)
        raise RequestRefusedError(_("无法识别客户端的网络地址，请求未被处理。"))


def nul_location() -> str | None:
    """Where the request carries a NUL character (for the log), or None."""
    if "\x00" in request.path:
        return "the path"
    for source, values in (("the query string", request.args), ("the form", request.form)):
        for key, value in values.items(multi=True):
            if "\x00" in key or "\x00" in value:
                return f"{source} ({key[:40]!r})"
    for key, upload in request.files.items(multi=True):
        if "\x00" in key or "\x00" in (upload.filename or ""):
            return f"an uploaded file's name ({key[:40]!r})"
    for key, value in request.headers.items():
        if "\x00" in value:
            return f"the {key[:40]} header"
    return None


def _is_ip_address(address: str) -> bool:
    if len(address) > MAX_ADDRESS_LENGTH:
        return False
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True
