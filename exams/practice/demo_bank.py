"""A small demo question bank for 1.2 低压电工作业, so that `opcert demo` has something to practise."""

from __future__ import annotations

from pathlib import Path

from exams.bank.services import import_questions, list_questions
from opcert.catalogue.services import get_item_by_code

DEMO_BANK = Path(__file__).with_name("data") / "demo_bank_1.2.csv"


def load_demo_bank(item_code: str = "1.2") -> str:
    """Import the demo questions into the item's bank when it has none yet; return a line for the demo's notes."""
    item = get_item_by_code(item_code)
    if list_questions(item_id=item.id):
        return f"practice: the bank of {item.code} already has questions, no demo questions imported"
    added = import_questions(item_id=item.id, filename=DEMO_BANK.name, data=DEMO_BANK.read_bytes())
    return f"practice: {len(added)} demo questions imported into {item.code} (a mock exam needs a full bank)"
