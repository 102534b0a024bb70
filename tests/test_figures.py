"""dashboard.figures as pure functions: where a path leaves the box, the log floor, tick
steps, the basin map's colour range, the 3D axes fixed to the box."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard import figures

BOX = (-1.0, 1.0, -2.0, 2.0)


def test_a_path_inside_the_box_has_no_exit():
    params = np.array([[0.0, 0.0], [0.5, 1.0], [-0.9, -1.9]])
    assert figures.exit_point(params, BOX) is None


@pytest.mark.parametrize(
    ("after", "where"),
    [
        ((3.0, 0.0), (1.0, 0.0)),  # through the right edge
        ((0.0, -6.0), (0.0, -2.0)),  # through the bottom
        ((2.0, 4.0), (1.0, 2.0)),  # through the corner
        ((np.inf, 0.0), (0.0, 0.0)),  # flew off: the last point inside
    ],
)
def test_the_exit_is_where_the_step_crosses_the_edge(after, where):
    params = np.array([[0.0, 0.0], after, [5.0, 5.0]])
    (a, b), k = figures.exit_point(params, BOX)
    assert k == 1
    assert (a, b) == pytest.approx(where)


def test_log_colour_floors_the_few_samples_on_the_zero_curve():
    loss = np.concatenate([np.full(990, 100.0), np.logspace(-30, -1, 10)])
    z = figures.log_loss(loss)
    floor = np.percentile(loss[loss > 0], figures.LOG_FLOOR_PERCENTILE)
    assert z.min() == pytest.approx(np.log10(floor))
    assert np.isfinite(figures.log_loss(np.array([0.0, 1.0, 4.0]))).all()


def test_loss_chart_ticks_are_whole_steps():
    assert [figures.nice_step(x) for x in (0.3, 1, 1.5, 3, 7, 12.4, 22, 30, 120)] == [
        1, 1, 2, 5, 10, 20, 25, 50, 200
    ]  # fmt: skip


def test_basin_colours_span_the_converged_ends_on_a_sequential_scale():
    alphas, betas = np.linspace(-1, 1, 3), np.linspace(-1, 1, 2)
    end = np.zeros((2, 3, 2))
    end[..., 0] = [[0.1, 0.2, 0.3], [0.4, 0.5, 900.0]]  # one run ran away
    converged = np.array([[1, 1, 1], [1, 1, 0]], dtype=bool)
    fig = figures.basin_figure(alphas, betas, end, np.zeros((2, 3)), converged, name="gd")
    heat = fig.data[0]
    assert (heat.zmin, heat.zmax) == (0.1, 0.5)
    assert heat.colorscale[0][1] != heat.colorscale[-1][1]  # not cyclic: the ends differ


def test_the_3d_axes_stay_on_the_box():
    alphas, betas = np.linspace(-1, 1, 5), np.linspace(-2, 2, 5)
    path = figures.Path("gd", np.array([[0.0, 0.0], [-30.0, 1.0]]), np.array([1.0, 2.0]))
    fig = figures.surface_figure(alphas, betas, np.ones((5, 5)), paths=[path])
    assert list(fig.layout.scene.xaxis.range) == [-1.0, 1.0]
    assert list(fig.layout.scene.yaxis.range) == [-2.0, 2.0]
