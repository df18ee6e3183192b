"""The contract layer: Fiskil response schemas, the schema hook on the fake core, the sanitiser,
recording, the drift report and WireMock mapping export (docs/contract.md)."""

from harness.contract.hook import build_checked_core, check_served_response, install_schema_hook
from harness.contract.registry import ROUTES, Route, find_route, load_schema, schema_for, schema_names
from harness.contract.validation import ContractViolation, assert_response_valid, assert_valid, response_errors

__all__ = [
    "ROUTES",
    "ContractViolation",
    "Route",
    "assert_response_valid",
    "assert_valid",
    "build_checked_core",
    "check_served_response",
    "find_route",
    "install_schema_hook",
    "load_schema",
    "response_errors",
    "schema_for",
    "schema_names",
]
