"""Binds the integration features (subject flows) to pytest; the steps live in steps/."""

from pytest_bdd import scenarios

scenarios("integration")
