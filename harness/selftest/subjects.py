"""`--subject harness.selftest.subjects:faulty_reference`: the in-process reference with SELFTEST_FAULTS switched on.

Only for the self-test's scenarios that rebuild the subject with other credentials (the wrong-secret
ones), which an HTTP adapter subject cannot do.
"""

from __future__ import annotations

import dataclasses
import os

from harness.adapters.protocol import Subject
from harness.subjects import SubjectConfig, build_reference_subject


def faulty_reference(config: SubjectConfig) -> Subject:
    faults = tuple(f for f in os.environ.get("SELFTEST_FAULTS", "").split(",") if f)
    return build_reference_subject("reference", dataclasses.replace(config, faults=faults))
