"""The sample files in assets/: small, loadable, and exactly what make_samples.py makes."""

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

from core import (
    ASSETS,
    SAMPLES,
    descend,
    generate,
    load_dataset,
    load_sample,
    s_range_plane,
    sanity_report,
    suggest_start,
    with_intercept,
)

ROOT = Path(__file__).resolve().parent.parent


def test_samples_point_into_assets_and_are_small():
    assert ASSETS == ROOT / "assets"
    assert {"balanced", "exposure_long", "wide_pair"} <= set(SAMPLES)
    for name, sample in SAMPLES.items():
        assert sample.description, name
        for path in sample.paths:
            assert path.is_file(), path
            assert path.stat().st_size < 100_000, f"{path.name}: {path.stat().st_size} bytes"


GENERATED = [name for name, sample in SAMPLES.items() if not sample.source]


@pytest.mark.parametrize("name", GENERATED)
def test_each_sample_loads_as_its_recipe(name):
    sample = SAMPLES[name]
    ds = load_sample(name)
    want = generate(**sample.recipe)
    # The files hold the recipe's numbers to the last digit; regenerating them may differ
    # by an ulp where numpy's exp (lognormal) changed between versions.
    np.testing.assert_allclose(ds.I, want.I, rtol=1e-15, atol=0, equal_nan=True)
    np.testing.assert_allclose(ds.D, want.D, rtol=1e-15, atol=0, equal_nan=True)
    assert ds.y == want.y and ds.truth == want.truth == sample.truth
    assert sample.y is None or sample.y == ds.y
    report = sanity_report(ds)
    assert report.worst in ("ok", "note"), report.to_text()


def test_the_exposure_log_shows_ragged_rows_and_empty_rows():
    ds = load_sample("exposure_long")
    assert (~ds.present).any() and ds.n_nonempty < ds.N
    assert float(ds.y).is_integer()


def test_make_samples_remakes_the_committed_files(tmp_path):
    spec = importlib.util.spec_from_file_location("make_samples", ROOT / "assets/make_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = module.main(tmp_path)
    assert {p.name for p in written} == {f for s in SAMPLES.values() for f in s.files} | {
        "README.md"
    }
    for path in written:
        committed = ASSETS / path.name
        if path.suffix == ".npz":  # zip members carry a timestamp: compare the arrays
            with np.load(path) as new, np.load(committed) as old:
                assert sorted(new.files) == sorted(old.files)
                for key in new.files:
                    assert np.array_equal(new[key], old[key], equal_nan=True), key
        elif path.name == "gapminder_long.csv":  # converted, not drawn: exactly the same text
            assert path.read_text() == committed.read_text()
        elif path.suffix == ".csv":  # the numbers, to an ulp (numpy's exp varies by version)
            new = np.genfromtxt(path, delimiter=",", skip_header=1)
            old = np.genfromtxt(committed, delimiter=",", skip_header=1)
            np.testing.assert_allclose(new, old, rtol=1e-15, atol=0, equal_nan=True)
            assert path.read_text().splitlines()[0] == committed.read_text().splitlines()[0]
        else:
            assert path.read_bytes() == committed.read_bytes(), f"{path.name} differs"


def test_the_real_sample_without_an_intercept_gets_the_right_advice():
    """Gapminder, I and D centred: y = 83 countries is below every s the plane offers."""
    sample = SAMPLES["gapminder_long"]
    assert sample.truth is None and "CC BY 4.0" in sample.source
    ds = load_dataset(ROOT / "assets" / sample.files[0])  # this checkout's file
    assert (ds.N, ds.E, ds.y) == (142, 11, 83.0) and ds.present.all()
    for Z in (ds.I, ds.D):  # standardized over all records
        assert abs(Z.mean()) < 1e-6 and abs(Z.std(ddof=1) - 1) < 1e-5
    r = s_range_plane(ds)
    assert r.exact and r.low > 85 and not r.reachable(ds.y)
    finding = sanity_report(ds)["y_range"]
    assert finding.severity == "error" and "constant D = 1" in finding.message
    start = suggest_start(ds, (-3, 3, -3, 3))
    run = descend(ds, "newton", start, 200)
    assert "y = 83 is unreachable" in run.stop_reason and "plateau" not in run.stop_reason
    fixed = with_intercept(ds)
    assert sanity_report(fixed)["y_range"].severity == "ok"
    assert descend(fixed, "newton", start, 200).converged
    assert "gapminder_long.csv" in (ROOT / "assets" / "README.md").read_text()


def test_the_data_page_offers_the_intercept_in_one_click():
    from tests.apptest import assert_clean, button, new_app

    at = new_app()
    at.switch_page("views/data.py").run()
    assert not any(b.label == "Add an intercept (D = 1)" for b in at.button)  # a preset: no
    ds = load_dataset(ROOT / "assets" / "gapminder_long.csv")
    at.session_state["dataset"] = ds
    at.session_state["source"] = {"kind": "upload", "files": ["gapminder_long.csv"]}
    at.run()
    errors = " ".join(e.value for e in at.error)
    assert "y is unreachable for every (α, β)" in errors and "Data page" in errors
    assert not any("load_pair(" in e.value or "core." in e.value for e in at.error)
    button(at, "Add an intercept (D = 1)").click().run()
    assert_clean(at)  # the report's error is gone
    new = at.session_state["dataset"]
    assert (new.D[new.present] == 1.0).all() and np.array_equal(new.I, ds.I, equal_nan=True)
    assert at.session_state["source"]["intercept"] is True
    assert not any(b.label == "Add an intercept (D = 1)" for b in at.button)  # done once


def test_a_long_file_error_names_the_file_line_and_the_row_id(tmp_path):
    import pytest as _pytest

    from core import DataError, Dataset, load_bytes, to_bytes

    csv = b"row,I,D,y\n4641,1.0,2.0,1\n4641,0.5,0.1,1\n4643,0.5,1e300,1\n"
    with _pytest.raises(DataError, match=r"x\.csv, line 4 \(row id 4643\): D is 1e\+300"):
        load_bytes(csv, "x.csv")
    pq = to_bytes(Dataset([[1.0, 2.0], [0.5, 1.0]], [[1.0, 1.0], [1.0, 1.0]], 1.0), "parquet")
    assert load_bytes(pq, "x.parquet").N == 2
    import io as _io

    import pyarrow as pa
    import pyarrow.parquet as pqm

    table = pa.table({"row": ["a", "a", "b"], "I": [1.0, -2e200, 0.5], "D": [1.0, 1.0, 1.0]})
    buf = _io.BytesIO()
    pqm.write_table(table, buf)
    with _pytest.raises(DataError, match=r"table row 1 \(row id a\): I is -2e\+200"):
        load_bytes(buf.getvalue(), "x.parquet", y=1.0)


def _core_messages() -> list[str]:
    """Real loader messages whose fix, as core words it, is a Python or CLI call."""
    import io as _io

    from core import DataError, load_bytes, load_pair_bytes

    npy = _io.BytesIO()
    np.save(npy, np.ones((2, 2)))
    npz = _io.BytesIO()
    np.savez(npz, I=np.ones((2, 2)))
    long_csv = b"row,I,D\n0,1,2\n"
    cases = [
        lambda: load_bytes(b"1,2\n3,4\n", "one.csv", y=1.0),  # a wide matrix alone
        lambda: load_bytes(b"I\n1\n2\n", "column.csv", y=1.0),  # one column, no row/D
        lambda: load_bytes(npy.getvalue(), "I.npy", y=1.0),
        lambda: load_bytes(long_csv, "long.csv"),  # no y anywhere
        lambda: load_bytes(npz.getvalue(), "x.npz", y=1.0),
        lambda: load_pair_bytes(long_csv, "a.csv", long_csv, "b.csv", y=1.0),
    ]
    out = []
    for case in cases:
        with pytest.raises(DataError) as info:
            case()
        out.append(str(info.value))
    return out


def test_loader_messages_in_a_browser_users_terms():
    from dashboard.messages_view import for_browser

    messages = _core_messages()
    assert any("load_pair(" in m for m in messages)  # core keeps the API hint
    for message in messages:
        text = for_browser(message)
        for python in ("load_pair(", "load_dataset(", "np.savez(", "y=COUNT", "command line"):
            assert python not in text, (message, text)
        assert text.split(":")[0] == message.split(":")[0]  # still names the file
    assert "choose 'Two files: I and D' above" in for_browser(messages[0])
    assert "box 'Observed count y'" in for_browser(messages[3])


def test_the_data_page_shows_the_browser_wording():
    from tests.apptest import button, new_app

    at = new_app()
    at.switch_page("views/data.py").run()
    at.file_uploader(key="up_one").upload("column.csv", b"I\n1\n2\n", "text/csv").run()
    at.text_input(key="up_y").set_value("1").run()
    button(at, "Load upload").click().run()
    assert not at.exception
    # as the page shows it: ui.literal escapes Markdown with backslashes
    errors = re.sub(r"\\(.)", r"\1", " ".join(e.value for e in at.error))
    assert "column.csv has no column 'row'" in errors and "current data is kept" in errors
    assert "load_pair(" not in errors and "choose 'Two files: I and D' above" in errors
