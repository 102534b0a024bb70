import numpy as np

import core


def test_suggested_start_is_inside_the_box_uphill_and_not_flat():
    ds = core.make_preset("balanced")
    box = core.default_box(ds)
    a, b = core.suggest_start(ds, box)
    assert box[0] < a < box[1] and box[2] < b < box[3]
    ev = core.evaluate(ds, a, b)
    grid = core.landscape(ds, np.linspace(box[0], box[1], 23), np.linspace(box[2], box[3], 23))
    assert ev.loss >= np.median(grid.loss)  # a hill to come down
    assert np.linalg.norm(ev.grad) > 0
    run = core.descend(ds, "gd", (a, b), steps=100)
    assert run.loss[-1] < 1e-3 * run.loss[0]  # the first click does something


def test_suggested_start_avoids_a_saturated_corner():
    ds = core.make_preset("balanced")
    box = (-4.0, 4.0, -4.0, 4.0)  # its upper-left corner is a plateau with s = N
    a, b = core.suggest_start(ds, box)
    corner = core.evaluate(ds, -3.8, 3.8)
    chosen = core.evaluate(ds, a, b)
    assert np.linalg.norm(chosen.grad) > 100 * np.linalg.norm(corner.grad)


def test_large_data_uses_a_row_sample_and_still_finds_a_hill():
    ds = core.generate(N=45_000, E=4, alpha=1.0, beta=-1.0, seed=3)
    box = core.default_box(ds)
    a, b = core.suggest_start(ds, box)
    assert box[0] < a < box[1] and box[2] < b < box[3]
    run = core.descend(ds, "gd", (a, b), steps=100)
    assert run.loss[-1] < 1e-3 * run.loss[0]
