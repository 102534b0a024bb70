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


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (scripts/test runs two workers): each file's tests stay on one
    worker, so module fixtures such as the LocalCluster start once, and every browser test
    runs on one worker (one streamlit server, one Chromium). Without xdist: no effect."""
    for item in items:
        group = "browser" if item.get_closest_marker("browser") else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))
