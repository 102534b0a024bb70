"""losslens core: the noisy-OR count model in pure numpy.

    from core import Dataset, DataError, evaluate
    ev = evaluate(Dataset(I, D, y), alpha, beta)
    ev.s, ev.loss, ev.grad, ev.hessian
"""

from .errors import DataError
from .model import Dataset, Evaluation, Parts, evaluate

__all__ = ["DataError", "Dataset", "Evaluation", "Parts", "evaluate"]
