"""The reference integration's README summarises the adapter contract without adding to it or leaving
anything out."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = (ROOT / "docs" / "adapter-contract.md").read_text(encoding="utf-8")
README = (ROOT / "examples" / "reference_integration" / "README.md").read_text(encoding="utf-8")


def summary() -> str:
    return README.split("## HTTP adapter contract v1", 1)[1].split("\n## ", 1)[0]


def test_the_readme_names_every_endpoint_of_the_contract():
    endpoints = re.findall(r"^\| `((?:GET|POST) /[^`]+)`", CONTRACT, re.M)
    assert len(endpoints) == 6
    assert all(f"`{endpoint}" in summary() for endpoint in endpoints), endpoints


def test_the_readme_names_every_snapshot_field_including_the_optional_one():
    for field in ("consents", "accounts", "transactions", "last_error", "soft_deleted"):
        assert field in CONTRACT and field in summary(), field


def test_the_readme_adds_no_error_shape_the_contract_does_not_define():
    assert '"error": {' not in summary() and "{\"error\"" not in summary()
    assert "defines no error body" in summary()
