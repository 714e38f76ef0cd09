"""The import-linter contracts (pyproject.toml) place the same core modules in both layer contracts."""

from __future__ import annotations

import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def contracts() -> dict[str, dict]:
    with PYPROJECT.open("rb") as fh:
        config = tomllib.load(fh)
    return {c["name"]: c for c in config["tool"]["importlinter"]["contracts"]}


def core_layer(layers: list[str], prefix: str = "") -> set[str]:
    return {prefix + name.strip() for name in layers[-1].split(":")}


def test_both_layer_contracts_name_the_same_core() -> None:
    layered = [c for c in contracts().values() if c["type"] == "layers"]
    across = next(c for c in layered if "containers" not in c)
    inside = next(c for c in layered if c.get("containers") == ["opcert"])
    assert core_layer(across["layers"]) == core_layer(inside["layers"], "opcert.")
    assert inside["exhaustive"] is True, "a new opcert module must be placed in a layer"


def test_every_domains_views_have_a_contract() -> None:
    views = sorted(p for c in contracts().values() if c["type"] == "forbidden" for p in c["source_modules"])
    root = PYPROJECT.parent
    found = sorted(
        ".".join(path.relative_to(base).with_suffix("").parts)
        for base in (root / "platform", root)
        for path in base.glob("*/**/*views.py")  # views.py, and views modules named for their part (x_views.py)
        if path.relative_to(base).parts[0] in {"opcert", "exams", "photos"}
    )
    assert views == found, "each views module needs a forbidden contract for other domains' models"
