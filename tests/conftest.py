import importlib.util

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "losslens", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=100
)
settings.load_profile("losslens")


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh, seeded generator per test: no global random state."""
    return np.random.default_rng(20261126)


if importlib.util.find_spec("xdist") is not None:  # the hook exists only with xdist

    def pytest_xdist_make_scheduler(config, log):
        """Under pytest-xdist (scripts/test runs two workers): each file's tests stay on one
        worker, so module fixtures such as the LocalCluster start once, and every browser
        test runs on one worker (one streamlit server, one Chromium, one timings file).
        A scheduler of our own: with pytest 9.2 and xdist 3.8, ``--dist loadgroup`` and
        ``xdist_group`` marks left the browser tests spread over both workers."""
        from xdist.scheduler import LoadScopeScheduling

        class FilesBrowserTogether(LoadScopeScheduling):
            def _split_scope(self, nodeid: str) -> str:
                path = nodeid.split("::")[0]
                return "tests/browser" if path.startswith("tests/browser/") else path

        return FilesBrowserTogether(config, log)
