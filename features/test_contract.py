"""Binds the contract features (features/contract) to pytest; steps live in steps/contract.py."""

from pytest_bdd import scenarios

scenarios("contract")
