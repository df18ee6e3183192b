"""Root conftest: loads the shared step definitions (pytest-bdd only sees steps registered here
or in the test module itself, and `pytest_plugins` is only allowed in the root conftest)."""

from pathlib import Path

_STEPS = Path(__file__).parent / "steps"

# By domain; webhooks and contract steps join when their modules exist.
pytest_plugins = [
    f"steps.{name}"
    for name in ("traffic", "common", "link", "data", "faults", "auth", "webhooks", "contract")
    if (_STEPS / f"{name}.py").exists()
]
