"""Small web helpers: safe redirect targets, and the rule for the URLs of outside services."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from flask import request

# Far beyond any real listing, and small enough that (page - 1) * page size fits every database's integers.
MAX_PAGE = 100_000


def safe_next(target: str | None) -> str | None:
    """A redirect target only if it is a path on this site (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ch < " " or ch == "\x7f" for ch in target):
        # Control characters: CR/LF cannot go into a Location header, and browsers drop tabs ("/\t/x" is "//x").
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def is_loopback(host: str | None) -> bool:
    """Whether a host name or address is this machine's loopback."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def require_https_or_loopback(url: str, *, setting: str) -> None:
    """Refuse (ValueError naming `setting`) an outside service's URL that is not https:// or plain http on loopback.

    Tokens and personal data travel in those requests: plain HTTP only where nothing can listen in.
    """
    parts = urlsplit(url)
    if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback(parts.hostname)):
        raise ValueError(f"{setting} must be an https:// URL (plain http only on loopback)")


def page_arg(name: str = "page") -> int:
    """The page number asked for in the query string, clamped to 1..MAX_PAGE; anything not a number is page 1."""
    raw = request.args.get(name, "")
    try:
        number = int(raw)
    except ValueError:
        return 1
    return min(max(number, 1), MAX_PAGE)


def format_size(n: int) -> str:
    """A byte count for people: 16 MB, 500 KB, 900 B."""
    for unit, size in (("MB", 1024 * 1024), ("KB", 1024)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} B"
