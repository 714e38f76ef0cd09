"""Small web helpers: safe redirect targets, and the rule for the URLs of outside services."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def safe_next(target: str | None) -> str | None:
    """A redirect target only if it is a path on this site (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
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
