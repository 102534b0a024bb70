"""The question's chain rule done literally: the Jacobian dm/dg, and reverse-mode backprop.

    J = jacobian_slice(ds, alpha, beta, rows=3, events=4)   # ∂m_i/∂g_kl on a small slice
    bp = backprop(ds, alpha, beta)                          # f → g → m → s → L, in reverse
    [(node.name, node.value, node.adjoint) for node in bp.nodes]
    bp.grad                                                 # (∂L/∂α, ∂L/∂β)

The question's chain, with its second sigmoid dropped (g = σ(f) of f = σ(X) would be a
different model, see :func:`core.s_forms`):

    f = αI + βD    (n, m)     g = σ(f)   (n, m)     m_i = Π_j (1 − g_ij)   (n,)
    s = n − Σ_i m_i           L = ½ (y − s)²

Reverse mode carries the adjoint x̄ = ∂L/∂x of each node back through vector–Jacobian
products, never forming a Jacobian:

    L̄ = 1,  s̄ = s − y,  m̄ = −s̄ 1_n,  ḡ_ij = −m̄_i Π_{l≠j}(1 − g_il),
    f̄ = ḡ ⊙ g ⊙ (1 − g),  ᾱ = Σ f̄ ⊙ I,  β̄ = Σ f̄ ⊙ D.

m is the derivation's p and g its F; absent events (NaN) are left out of every product and
sum, as everywhere in losslens. Π_{l≠j}(1 − g_il) = exp(log p_i − G_ij) with G = log(1 − F)
stays finite where a division p_i / (1 − g_ij) would not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import DataError
from .model import Dataset, evaluate
from .validation import check_scalar

__all__ = ["Backprop", "JacobianSlice", "Node", "backprop", "jacobian_slice"]


@dataclass(frozen=True)
class Node:
    """One node of the chain: its value, its adjoint ∂L/∂node, and the rule that made it.

    value, adjoint : ndarray (N, E) with NaN where absent (f, g), (N,) (m), or float
    rule  : the vector–Jacobian product that gives the adjoint, in LaTeX
    """

    name: str
    value: np.ndarray | float
    adjoint: np.ndarray | float
    rule: str


@dataclass(frozen=True)
class Backprop:
    """Reverse mode at (α, β): nodes L, s, m, g, f (in the order they are visited).

    grad      : (2,) (ᾱ, β̄) from the adjoint of f
    reference : (2,) ∇L from :func:`core.evaluate` (the trace form)
    rel_diff  : ‖grad − reference‖ / ‖reference‖ (0 when both are 0)
    """

    alpha: float
    beta: float
    nodes: tuple[Node, ...]
    grad: np.ndarray
    reference: np.ndarray
    rel_diff: float

    def node(self, name: str) -> Node:
        for nd in self.nodes:
            if nd.name == name:
                return nd
        raise KeyError(f"no node {name!r}; nodes are {[nd.name for nd in self.nodes]}")


@dataclass(frozen=True)
class JacobianSlice:
    """∂m_i/∂g_kl for i, k < rows and l < events: the slice of a third-order object.

    J     : (rows, rows, events); J[i, k, l] = −δ_ik Π_{j≠l}(1 − g_ij) over ALL events of
            row i (NaN where event l of row k is absent: there is no g_kl)
    full_shape : (N, N, E), the whole object;  full_size its number of entries
    nonzero    : how many of them can be nonzero (N·E minus absent events): only the
                 blocks i = k, since row i of m depends only on row i of g
    """

    J: np.ndarray
    rows: int
    events: int
    full_shape: tuple[int, int, int]
    full_size: int
    nonzero: int


def _point(ds: Dataset, alpha, beta):
    alpha = check_scalar(alpha, "alpha")
    beta = check_scalar(beta, "beta")
    ev = evaluate(ds, alpha, beta, hessian=False, parts=True)
    return alpha, beta, ev


def _others(ev, present: np.ndarray) -> np.ndarray:
    """Π_{l≠j}(1 − g_il) for every present (i, j), (N, E); 0 where absent.

    The product over the other events of the row is exp(log p_i − G_ij): log p_i − G_ij ≤ 0
    (a sum of the other terms), so it never overflows, also where 1 − g_ij underflows.
    """
    G = np.where(present, ev.parts.G, 0.0)
    return np.where(present, np.exp(ev.parts.logp[:, None] - G), 0.0)


def jacobian_slice(
    ds: Dataset, alpha: float, beta: float, rows: int = 3, events: int = 4
) -> JacobianSlice:
    """The Jacobian ∂m/∂g on its first ``rows`` rows and ``events`` events (see the class)."""
    if int(rows) < 1 or int(events) < 1:
        raise DataError(f"rows and events must be at least 1; got {rows} and {events}.")
    _, _, ev = _point(ds, alpha, beta)
    r, e = min(int(rows), ds.N), min(int(events), ds.E)
    present = ds.present
    others = _others(ev, present)
    J = np.zeros((r, r, e))
    for i in range(r):
        J[i, i, :] = -others[i, :e]
    J[:, ~present[:r, :e]] = np.nan  # no variable g_kl for an absent event
    n_present = int(present.sum())
    return JacobianSlice(
        J=J,
        rows=r,
        events=e,
        full_shape=(ds.N, ds.N, ds.E),
        full_size=ds.N * ds.N * ds.E,
        nonzero=n_present,
    )


RULES = {
    "L": r"\bar L = 1",
    "s": r"\bar s = \bar L\,\frac{\partial L}{\partial s} = s - y",
    "m": r"\bar m_i = \bar s\,\frac{\partial s}{\partial m_i} = -\bar s",
    "g": r"\bar g_{ij} = \sum_k \bar m_k \frac{\partial m_k}{\partial g_{ij}} "
    r"= -\bar m_i \prod_{l \ne j} (1 - g_{il})",
    "f": r"\bar f_{ij} = \bar g_{ij}\, g_{ij} (1 - g_{ij})",
}


def backprop(ds: Dataset, alpha: float, beta: float) -> Backprop:
    """Reverse-mode differentiation of the question's chain at (α, β), with every adjoint."""
    alpha, beta, ev = _point(ds, alpha, beta)
    present = ds.present
    I0, D0 = ds.filled()
    P = ev.parts
    g = np.where(present, P.F, 0.0)
    s_bar = ev.s - ds.y
    m_bar = np.full(ds.N, -s_bar)
    g_bar = -m_bar[:, None] * _others(ev, present)
    # g(1 − g) with 1 − g = exp(G): exact also where g rounds to 1.
    f_bar = g_bar * g * np.exp(np.where(present, P.G, 0.0))
    grad = np.array([float((f_bar * I0).sum()), float((f_bar * D0).sum())])
    ref = ev.grad
    nref = float(np.linalg.norm(ref))
    diff = float(np.linalg.norm(grad - ref))
    nodes = (
        Node("L", ev.loss, 1.0, RULES["L"]),
        Node("s", ev.s, s_bar, RULES["s"]),
        Node("m", P.p, m_bar, RULES["m"]),
        Node("g", P.F, np.where(present, g_bar, np.nan), RULES["g"]),
        Node("f", P.X, np.where(present, f_bar, np.nan), RULES["f"]),
    )
    return Backprop(
        alpha=alpha,
        beta=beta,
        nodes=nodes,
        grad=grad,
        reference=ref,
        rel_diff=diff / nref if nref > 0 else (0.0 if diff == 0 else np.inf),
    )
