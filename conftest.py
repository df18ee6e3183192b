"""Root conftest: loads the shared step definitions (pytest-bdd only sees steps registered here
or in the test module itself, and `pytest_plugins` is only allowed in the root conftest)."""

pytest_plugins = [
    "steps.common",
]
