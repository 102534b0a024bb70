"""losslens core: the noisy-OR count model in pure numpy.

    from core import Dataset, DataError, evaluate
    ev = evaluate(Dataset(I, D, y), alpha, beta)
    ev.s, ev.loss, ev.grad, ev.hessian

Never imports streamlit or plotly; pandas only where files are read.
"""

from . import data as _data
from . import derivation as _derivation
from . import landscape as _landscape
from . import optim as _optim
from . import start as _start
from .data import *  # noqa: F403  (generate, presets, load_dataset, sanity_report, ...)
from .derivation import *  # noqa: F403  (the derivation's lines, evaluated)
from .errors import DataError
from .landscape import *  # noqa: F403  (landscape, Grid, ...)
from .model import Dataset, Evaluation, Parts, evaluate
from .optim import *  # noqa: F403  (descend, OPTIMIZERS, ...)
from .start import *  # noqa: F403  (suggest_start)

__all__ = [
    "DataError",
    "Dataset",
    "Evaluation",
    "Parts",
    "evaluate",
    *_landscape.__all__,
    *_optim.__all__,
    *_start.__all__,
    *_data.__all__,
    *_derivation.__all__,
]
