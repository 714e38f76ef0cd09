"""The rule for outside services' URLs (photo library, SMS gateway): HTTPS, or plain HTTP only on loopback."""

from __future__ import annotations

import pytest

from opcert.notifications.delivery import HttpSmsSender
from opcert.web import require_https_or_loopback


@pytest.mark.parametrize(
    "url", ["https://sms.example.gov.cn/send", "http://127.0.0.1:8025/send", "http://localhost/send", "http://[::1]/"]
)
def test_https_and_loopback_are_accepted(url) -> None:
    require_https_or_loopback(url, setting="NOTIFY_SMS_URL")


@pytest.mark.parametrize(
    "url", ["http://sms.example.gov.cn/send", "http://10.0.0.5/send", "ftp://127.0.0.1/", "sms.example.gov.cn"]
)
def test_anything_else_is_refused_naming_the_setting(url) -> None:
    with pytest.raises(ValueError, match="NOTIFY_SMS_URL must be an https:// URL"):
        require_https_or_loopback(url, setting="NOTIFY_SMS_URL")


def test_the_sms_gateway_refuses_plain_http_elsewhere() -> None:
    with pytest.raises(ValueError, match="NOTIFY_SMS_URL"):
        HttpSmsSender("http://sms.example.gov.cn/send")
    assert HttpSmsSender("https://sms.example.gov.cn/send").url == "https://sms.example.gov.cn/send"
