"""Certificate pages: the public key list, public verification, the holder's certificates and their PDFs."""

from __future__ import annotations

from flask import Blueprint, jsonify
from werkzeug.wrappers import Response

from opcert.access import PUBLIC, allow
from opcert.certificates import seal

bp = Blueprint("certificates", __name__, template_folder="templates", static_folder="static")


@bp.route("/certificates/keys.json")
@allow(PUBLIC)
def public_keys() -> Response:
    """The seal's public keys, current and retired, with their validity periods (what offline verifiers load)."""
    response = jsonify(seal.published_keys())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
