"""Security headers on every response (docs/security.md): a strict CSP, no sniffing, no framing, HSTS in
production, and no caching of pages (only static files may be cached)."""

from __future__ import annotations

from flask import Flask, request
from werkzeug.wrappers import Response

# No inline scripts, styles or event handlers anywhere: templates load static files and use CSS classes.
# img-src allows data: for the ticket's embedded photo, blob: (with media-src) for camera captures.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HSTS = "max-age=31536000"
STATIC_ENDPOINTS = frozenset({"static", "bootstrap.static"})


def register_security_headers(app: Flask) -> None:
    """Install the after-request hook that adds the headers."""

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        if app.config["ENV"] == "production":
            headers["Strict-Transport-Security"] = HSTS
        if request.endpoint not in STATIC_ENDPOINTS:
            # Pages and downloads carry personal data or a session's CSRF token: never kept by a browser or a
            # proxy (send_file's "no-cache" would still store them). Deciding without loading the user keeps this
            # hook off the database.
            headers["Cache-Control"] = "private, no-store"
        return response
