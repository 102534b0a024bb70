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
