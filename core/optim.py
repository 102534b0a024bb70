"""Optimizers one step at a time (issue 4): the public names of core.objectives,
core.hyperparams, core.optimizers and core.descent.

    from core import descend, OPTIMIZERS
    tr = descend(ds, "adam", start=(a0, b0), steps=200, lr=0.05)
    tr.params (k+1, 2), tr.loss (k+1,), tr.grad (k+1, 2), tr.s (k+1,), tr.stop_reason

core/objectives.py holds what the optimizers walk on (Point, Objective, the data set's
loss); core/hyperparams.py the hyper-parameter descriptions, checks and default step
rules; core/optimizers.py the optimizers (pure init/step pairs over frozen states) and
REGISTRY, the one table of them; core/descent.py runs them: start_run/advance/descend for
one trajectory, descend_many for a grid of starts.
"""

from . import descent as _descent
from . import hyperparams as _hyperparams
from . import objectives as _objectives
from . import optimizers as _optimizers
from .descent import *  # noqa: F403
from .hyperparams import *  # noqa: F403
from .objectives import *  # noqa: F403
from .optimizers import *  # noqa: F403

__all__ = [
    *_objectives.__all__,
    *_hyperparams.__all__,
    *_optimizers.__all__,
    *_descent.__all__,
]
