"""The session form's item picker: items in numeric code order, with a hint on how to pick several."""

from __future__ import annotations

import re

from flask import Flask

from opcert.access import Role
from opcert.catalogue.models import Category, Item
from opcert.catalogue.services import code_sort_key
from opcert.extensions import db
from tests.exams.sessions import sessions_data as data
from tests.factories import PASSWORD, staff
from tests.fixtures.web import login, text


def test_code_sort_key_reads_codes_as_numbers() -> None:
    codes = ["1.10", "10.1", "1.2", "2.1", "1.9"]
    assert sorted(codes, key=code_sort_key) == ["1.2", "1.9", "1.10", "2.1", "10.1"]


def test_session_form_lists_items_by_code_number_and_says_how_to_pick_several(app: Flask) -> None:
    with app.app_context():
        nine, ninety_one = Category(code="9", name="九类", sort_key=1), Category(code="91", name="九十一类", sort_key=0)
        db.session.add_all([nine, ninety_one])
        for sort_key, (category, code) in enumerate(
            [(ninety_one, "91.10"), (ninety_one, "91.2"), (nine, "9.1"), (ninety_one, "91.9")]
        ):
            db.session.add(Item(category=category, code=code, name=f"项目{code}", offered=True, sort_key=sort_key))
        db.session.commit()
        centre = data.centre()
        centre_id = centre.id
        data.room(centre, seats=30)
        account = staff(Role.CENTRE_STAFF, org=centre).login_name
    client = app.test_client()
    login(client, account, PASSWORD)
    page = text(client.get(f"/centres/{centre_id}/sessions/new"))
    picker = re.search(r'<select[^>]*name="item_ids".*?</select>', page, re.DOTALL)
    assert picker is not None
    codes = re.findall(r"<option[^>]*>\s*(\S+) 项目", picker.group(0))
    assert codes == ["9.1", "91.2", "91.9", "91.10"]
    assert "按住Ctrl键（Mac上按⌘键）再点击" in page
