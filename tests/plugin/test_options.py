"""Option validation: every bad combination is refused with a message that says what to fix."""

from __future__ import annotations

import pytest

from harness.subjects import SubjectSpecError, build_subject, subject_form
from harness.target import OptionsError, ScenarioContext, Target, resolve_options

CREDS = {"FISKIL_CLIENT_ID": "id-123", "FISKIL_CLIENT_SECRET": "s3cret-value-xyz"}


def test_fake_target_needs_no_credentials() -> None:
    options = resolve_options(env={})
    assert options.is_fake and options.client_secret is None


def test_sandbox_without_credentials_names_the_variables() -> None:
    with pytest.raises(OptionsError, match="FISKIL_CLIENT_ID and FISKIL_CLIENT_SECRET"):
        resolve_options(target="sandbox", env={})


def test_sandbox_needs_https_for_remote_hosts() -> None:
    with pytest.raises(OptionsError, match="https"):
        resolve_options(target="sandbox", sandbox_url="http://api.example.com", env=CREDS)
    local = resolve_options(target="sandbox", sandbox_url="http://127.0.0.1:8080/", env=CREDS)
    assert local.sandbox_url == "http://127.0.0.1:8080"


def test_secret_is_never_in_repr() -> None:
    options = resolve_options(target="sandbox", env=CREDS)
    target = Target("http://x", False, None, None, "id-123", "s3cret-value-xyz", name="sandbox")
    assert "s3cret" not in repr(options) and "s3cret" not in repr(target)


def test_fake_url_and_sandbox_do_not_mix() -> None:
    with pytest.raises(OptionsError, match="--fake-url"):
        resolve_options(target="sandbox", fake_url="http://127.0.0.1:1", env=CREDS)


def test_subject_forms() -> None:
    assert [subject_form(s) for s in ("reference", "pkg.mod:make", "https://partner.test/adapter")] == [
        "reference", "python", "http"]
    with pytest.raises(SubjectSpecError, match="not understood"):
        subject_form("nonsense")


def test_python_factory_must_return_a_subject() -> None:
    with pytest.raises(SubjectSpecError, match="does not implement"):
        build_subject("builtins:repr", None)  # type: ignore[arg-type]  # repr(config) -> a str, not a Subject
    with pytest.raises(SubjectSpecError, match="cannot import"):
        build_subject("no_such_module_xyz:make", None)  # type: ignore[arg-type]


def test_context_names_the_missing_value() -> None:
    ctx = ScenarioContext(a=1)
    assert ctx.a == 1 and ctx.get("b") is None
    with pytest.raises(AttributeError, match="'end_user_id'.*earlier step"):
        ctx.end_user_id
