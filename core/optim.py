"""Optimizers one step at a time (issue 4): the public names of core.optimizers and core.descent.

    from core import descend, OPTIMIZERS
    tr = descend(ds, "adam", start=(a0, b0), steps=200, lr=0.05)
    tr.params (k+1, 2), tr.loss (k+1,), tr.grad (k+1, 2), tr.s (k+1,), tr.stop_reason

core/optimizers.py holds the optimizers (pure init/step pairs over frozen states), the
objectives they walk on, and the hyper-parameter descriptions and defaults;
core/descent.py runs them: start_run/advance/descend for one trajectory, descend_many
for a grid of starts.
"""

from . import descent as _descent
from . import optimizers as _optimizers
from .descent import *  # noqa: F403
from .optimizers import *  # noqa: F403

__all__ = [*_optimizers.__all__, *_descent.__all__]
