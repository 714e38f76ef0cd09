"""Resident identity card numbers (居民身份证号码, GB 11643-1999)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata

from flask_babel import lazy_gettext as _l

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
# Province-level codes of GB/T 2260, plus 81/82/83 (Hong Kong, Macao, Taiwan residence permits).
PROVINCE_CODES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46}
    | {50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83}
)
_SHAPE = re.compile(r"^\d{17}[\dX]$")

MESSAGES = {
    "empty": _l("请输入身份证号码。"),
    "length": _l("身份证号码应为18位。"),
    "format": _l("身份证号码前17位应为数字，最后一位为数字或字母X。"),
    "region": _l("身份证号码前两位不是有效的省级行政区划代码。"),
    "birth_date": _l("身份证号码中的出生日期（第7至14位）不是有效日期。"),
    "future": _l("身份证号码中的出生日期晚于今天。"),
    "check": _l("身份证号码校验位不正确，请核对最后一位。"),
}


class IdNumberError(ValueError):
    """An invalid ID number; `code` names the rule that failed, `message` says it in Chinese."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = MESSAGES[code]


@dataclasses.dataclass(frozen=True)
class IdNumber:
    """A validated ID number with the facts it encodes."""

    number: str
    birth_date: dt.date
    sex: str  # "M" or "F": the 17th digit is odd for men

    def age_on(self, day: dt.date) -> int:
        """Completed years of age on `day`."""
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years

    @property
    def masked(self) -> str:
        """The number with the middle hidden, for pages and tickets."""
        return mask_id_number(self.number)


def normalise(raw: str) -> str:
    """Full-width to half-width, spaces removed, x upper-cased."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", raw)).upper()


def check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def parse_id_number(raw: str, *, today: dt.date) -> IdNumber:
    """Validate an ID number; raise IdNumberError naming the first rule it breaks. `today` is the deployment's
    date (`timeutil.local_today`), not the machine's: a birth date after it is refused."""
    number = normalise(raw or "")
    if not number:
        raise IdNumberError("empty")
    if len(number) != 18:
        raise IdNumberError("length")
    if not _SHAPE.match(number):
        raise IdNumberError("format")
    if int(number[:2]) not in PROVINCE_CODES:
        raise IdNumberError("region")
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdNumberError("birth_date") from None
    if birth.year < 1900:
        raise IdNumberError("birth_date")
    if birth > today:
        raise IdNumberError("future")
    if check_character(number[:17]) != number[17]:
        raise IdNumberError("check")
    return IdNumber(number=number, birth_date=birth, sex="M" if int(number[16]) % 2 else "F")


def mask_id_number(number: str) -> str:
    """Mask any stored ID number for display."""
    return f"{number[:6]}********{number[-4:]}" if len(number) == 18 else number
