"""fiskil-harness: test harness and contract-testing kit for Fiskil integrations."""

__version__ = "0.1.0"
