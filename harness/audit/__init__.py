"""Passive audit: best-practice violations read from the edge's request journal (docs/best-practices.md)."""

from harness.audit.journal import AuditEntry, load_journal
from harness.audit.rules import RULES, Thresholds, Violation, audit

__all__ = ["AuditEntry", "RULES", "Thresholds", "Violation", "audit", "load_journal"]
