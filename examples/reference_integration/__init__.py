"""The reference Fiskil integration: a small, well-behaved integration partners can copy.

It is also the default *subject* of the BDD suites, and with seeded faults switched on
(`faults.py`) the proof that each check catches what it claims to catch.
"""

from examples.reference_integration.config import ConfigurationError, Settings
from examples.reference_integration.service import ReferenceIntegration

__all__ = ["ConfigurationError", "ReferenceIntegration", "Settings"]
