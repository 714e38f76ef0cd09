"""Test helpers for the data-sharing API: tokens made through the service, calls checked against the OpenAPI file."""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources
from typing import Any

from flask.testing import FlaskClient
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from werkzeug.test import TestResponse

from opcert.certificates import api
from opcert.certificates.api_models import ApiClient
from opcert.extensions import db

DOCUMENT_URI = "urn:opcert:openapi"
DOCUMENT: dict[str, Any] = json.loads(
    resources.files("opcert.certificates").joinpath("openapi.json").read_text(encoding="utf-8")
)
REGISTRY: Registry = Registry().with_resource(
    DOCUMENT_URI, Resource.from_contents(DOCUMENT, default_specification=DRAFT202012)
)
PATHS = {"changes": "/certificates", "certificate": "/certificates/{number}"}


def token(
    name: str = "市大数据中心同步",
    client: ApiClient = ApiClient.CITY_DATA_CENTRE,
    *,
    expires_on: dt.date | None = None,
    now: dt.datetime | None = None,
) -> str:
    """A new token's secret (committed)."""
    now = now or dt.datetime.now(dt.UTC)
    created = api.create_token(
        name=name, client=client, expires_on=expires_on or now.date() + dt.timedelta(days=30), actor_id=None, now=now
    )
    db.session.commit()
    return created.secret


def response_schema(path: str, status: int) -> dict[str, Any]:
    """The JSON schema the OpenAPI document gives for a GET of `path` answering `status`."""
    responses = DOCUMENT["paths"][path]["get"]["responses"]
    assert str(status) in responses, f"{path} answered {status}, which the OpenAPI document does not describe"
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    ref = schema["$ref"]
    return {"$ref": DOCUMENT_URI + ref}


def check_against_openapi(path: str, response: TestResponse) -> Any:
    """The response's JSON, after checking its status, media type, body and headers against the document."""
    assert response.mimetype == "application/json"
    body = response.get_json()
    validator = Draft202012Validator(
        response_schema(path, response.status_code), registry=REGISTRY, format_checker=FormatChecker()
    )
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
    described = DOCUMENT["paths"][path]["get"]["responses"][str(response.status_code)].get("headers", {})
    for header in described:
        assert header in response.headers, f"{header} missing from the {response.status_code} answer"
    assert "Set-Cookie" not in response.headers  # the API never sets a cookie
    return body


def call(client: FlaskClient, url: str, secret: str | None, *, kind: str = "changes", **headers: str) -> TestResponse:
    """GET an API address with the bearer token (None: without one); the answer is checked against the document."""
    if secret is not None:
        headers.setdefault("Authorization", f"Bearer {secret}")
    response = client.get(url, headers=headers)
    check_against_openapi(PATHS[kind], response)
    return response
