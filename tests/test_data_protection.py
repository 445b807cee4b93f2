"""docs/data-protection.md names every stored attribute, and only those."""

from __future__ import annotations

from pathlib import Path

from chalicelib.storage.models import ALL_MODELS, LOGICAL_NAMES

DOC = Path(__file__).resolve().parent.parent / "docs" / "data-protection.md"


def _documented() -> set[tuple[str, str]]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Attributes", 1)[1]
    rows = [line.split("|")[1:3] for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    return {(table.strip(), attr.strip()) for table, attr in rows if table.strip() != "table"}


def test_every_attribute_of_every_model_has_a_row_and_every_row_an_attribute() -> None:
    stored = {(LOGICAL_NAMES[model], name) for model in ALL_MODELS for name in model.get_attributes()}
    documented = _documented()
    assert stored - documented == set(), "attributes without a row in docs/data-protection.md"
    assert documented - stored == set(), "rows in docs/data-protection.md naming no attribute"
