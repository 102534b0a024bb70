"""losslens core: the noisy-OR count model in numpy (and numba), for notebooks and the dashboard.

    from core import Dataset, DataError, evaluate, landscape, descend
    ev = evaluate(Dataset(I, D, y), alpha, beta)
    ev.s, ev.loss, ev.grad, ev.hessian

Modules: ``engine`` (the sums over rows everything else reduces), ``model`` (Dataset,
evaluate), ``landscape`` (grids, many points), ``objectives`` (what optimizers walk on),
``hyperparams`` (their settings and default step rules), ``optimizers`` (pure init/step
pairs and REGISTRY, the one table of them), ``descent`` (runs),
``generators``/``io``/``samples`` (data), ``report`` (can the data identify α and β?),
``partitioned`` (long Parquet data on a Dask cluster: ``open_dataset``), ``derivation``
(the matrix-calculus lines on live numbers), ``validation`` (every input check). Never
imports streamlit or plotly; pandas and pyarrow only where files are read; dask and
distributed only when a partitioned data set is opened.
"""

from . import backprop as _backprop
from . import derivation as _derivation
from . import descent as _descent
from . import generators as _generators
from . import hyperparams as _hyperparams
from . import io as _io
from . import landscape as _landscape
from . import objectives as _objectives
from . import optimizers as _optimizers
from . import reach as _reach
from . import report as _report
from . import samples as _samples
from . import start as _start
from .backprop import *  # noqa: F403
from .derivation import *  # noqa: F403
from .descent import *  # noqa: F403
from .errors import DataError
from .generators import *  # noqa: F403
from .hyperparams import *  # noqa: F403
from .io import *  # noqa: F403
from .landscape import *  # noqa: F403
from .model import Dataset, Evaluation, Parts, evaluate
from .objectives import *  # noqa: F403
from .optimizers import *  # noqa: F403
from .partitioned import PartitionedDataset, load_landscape, open_dataset, save_landscape
from .reach import *  # noqa: F403
from .report import *  # noqa: F403
from .samples import *  # noqa: F403
from .start import *  # noqa: F403
from .validation import BOX_LIMIT, MAX_ABS

__all__ = [
    "BOX_LIMIT",
    "MAX_ABS",
    "DataError",
    "Dataset",
    "Evaluation",
    "PartitionedDataset",
    "Parts",
    "evaluate",
    "load_landscape",
    "open_dataset",
    "save_landscape",
    *_landscape.__all__,
    *_objectives.__all__,
    *_hyperparams.__all__,
    *_optimizers.__all__,
    *_descent.__all__,
    *_start.__all__,
    *_generators.__all__,
    *_io.__all__,
    *_samples.__all__,
    *_report.__all__,
    *_reach.__all__,
    *_derivation.__all__,
    *_backprop.__all__,
]
