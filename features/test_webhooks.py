"""Binds the webhook features (features/webhooks) to pytest; the steps live in steps/webhooks.py."""

from pytest_bdd import scenarios

scenarios("webhooks")
