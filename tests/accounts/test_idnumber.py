"""The resident ID number validator (GB 11643): valid numbers and each kind of invalid one."""

from __future__ import annotations

import datetime as dt

import pytest

from opcert.accounts.idnumber import IdNumberError, check_character, mask_id_number, parse_id_number

TODAY = dt.date(2026, 11, 27)


def with_check(first17: str) -> str:
    return first17 + check_character(first17)


def test_known_valid_number_from_the_standard() -> None:
    # The worked example of GB 11643-1999 appendix: 11010519491231002X.
    parsed = parse_id_number("11010519491231002X", today=TODAY)
    assert parsed.birth_date == dt.date(1949, 12, 31)
    assert parsed.sex == "F"
    assert parsed.age_on(TODAY) == 76


def test_check_character_x_and_sex_from_the_17th_digit() -> None:
    parsed = parse_id_number(with_check("31010119900307451"), today=TODAY)
    assert parsed.sex == "M"
    assert parsed.number.endswith("1")
    assert check_character("11010519491231002") == "X"


def test_normalises_lowercase_x_spaces_and_fullwidth_digits() -> None:
    assert parse_id_number(" 110105 19491231002x ", today=TODAY).number == "11010519491231002X"
    fullwidth = "１１０１０５１９４９１２３１００２Ｘ"
    assert parse_id_number(fullwidth, today=TODAY).number == "11010519491231002X"


def test_age_counts_completed_years() -> None:
    parsed = parse_id_number(with_check("31010120081128123"), today=TODAY)
    assert parsed.age_on(TODAY) == 17
    assert parsed.age_on(dt.date(2026, 11, 28)) == 18


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "empty"),
        ("1101051949123100", "length"),
        ("11010519491231002X1", "length"),
        ("1101051949123100AX", "format"),
        ("X1010519491231002X", "format"),
        (with_check("99010519491231002"), "region"),
        (with_check("31010119900230123"), "birth_date"),
        (with_check("31010119901301123"), "birth_date"),
        (with_check("31010118891231123"), "birth_date"),
        (with_check("31010120301231123"), "future"),
        ("110105194912310021", "check"),
    ],
)
def test_each_kind_of_invalid_number_is_named(raw: str, code: str) -> None:
    with pytest.raises(IdNumberError) as info:
        parse_id_number(raw, today=TODAY)
    assert info.value.code == code


def test_masking_hides_birth_date_and_sequence() -> None:
    assert mask_id_number("11010519491231002X") == "110105********002X"
