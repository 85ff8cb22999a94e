"""Settings for every test package.

Hypothesis's ``deadline`` and its ``too_slow`` health check time each example; on these shared,
noisy machines a run can stall for seconds through no fault of the code, and a test that fails
for that says nothing about the code. Speed is measured in ``bench/``, never in tests.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile("roadchief", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("roadchief")
