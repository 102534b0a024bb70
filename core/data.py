"""Datasets: generate, load, save, check.

A re-export hub (``core/__init__`` imports ``*`` from here):

- :mod:`core.generators`  seeded synthetic data from a known (α*, β*), and PRESETS
- :mod:`core.io`          load_dataset / load_pair / load_bytes (NPZ, CSV, Parquet, .npy);
                          the parsing itself is in :mod:`core._parsers`
- :mod:`core.samples`     SAMPLES: the small files in ``assets/`` for one-click examples
- :mod:`core.report`      sanity_report: can the data identify α and β?
"""

from . import generators as _generators
from . import io as _io
from . import report as _report
from . import samples as _samples
from .generators import *  # noqa: F403
from .io import *  # noqa: F403
from .report import *  # noqa: F403
from .samples import *  # noqa: F403

__all__ = [*_generators.__all__, *_io.__all__, *_samples.__all__, *_report.__all__]
