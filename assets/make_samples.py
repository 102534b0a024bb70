"""Remake the sample files in assets/ from the recipes in core.samples.SAMPLES (seeded).

    .venv/bin/python assets/make_samples.py            # writes next to this script
    .venv/bin/python assets/make_samples.py OUTDIR     # writes elsewhere (tests do this)

Also writes assets/README.md, so the y and truth it lists always match the files.
"""

from __future__ import annotations

import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
if (CHECKOUT / "pyproject.toml").is_file():  # run from a checkout: use its core
    sys.path.insert(0, str(CHECKOUT))

from core import SAMPLES, generate, load_dataset, save_dataset, save_pair  # noqa: E402


def gapminder_long(path: Path, recipe) -> None:
    """plotly's bundled Gapminder table as a long CSV: one row per country, one event per
    five-yearly record before ``recipe['final']``; I = log GDP per capita and D = life
    expectancy, each standardized over those records; y = countries whose life expectancy
    in the final year exceeds ``recipe['threshold']``."""
    import numpy as np
    from plotly.data import gapminder

    df = gapminder()
    final = df[df.year == recipe["final"]]
    y = int((final.lifeExp > recipe["threshold"]).sum())
    hist = df[df.year < recipe["final"]]
    log_gdp = np.log(hist.gdpPercap.to_numpy())
    life = hist.lifeExp.to_numpy()
    I = (log_gdp - log_gdp.mean()) / log_gdp.std(ddof=1)
    D = (life - life.mean()) / life.std(ddof=1)
    lines = ["row,I,D,y"]
    for country, i, d in zip(hist.country, I, D):
        row = f'"{country}"' if "," in country else country
        lines.append(f"{row},{i:.6f},{d:.6f},{y}")
    path.write_text("\n".join(lines) + "\n")


FORMATS = {
    ".npz": "NPZ with arrays `I`, `D` (N × E floats, NaN = absent event), the scalar `y` and "
    "`truth` = (α*, β*).",
    ".csv": "Long CSV: header `row,I,D,y`, one line per event. A line with I and D both empty "
    "declares a row with no events; `y` repeats the count on every line.",
    "pair": "Two wide CSV files of the same shape: header `e1,…,eE`, one line per row, one "
    "column per event; an empty cell is an absent event.",
}


def main(outdir: Path) -> list[Path]:
    """Write every sample and README.md into ``outdir``; return the paths written."""
    outdir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    readme = [
        "# Sample data",
        "",
        "Small seeded datasets: the dashboard's one-click examples (`core.SAMPLES`) and inputs",
        "for `losslens check`. `assets/make_samples.py` makes them (and this file) from the",
        "recipes in `core/samples.py`; rerun it to remake them.",
    ]
    for key, sample in SAMPLES.items():
        if sample.source:  # real data: converted, not generated
            path = outdir / sample.files[0]
            gapminder_long(path, sample.recipe)
            ds = load_dataset(path)
            written.append(path)
            readme += [
                "",
                f"## `{sample.files[0]}` (`SAMPLES[{key!r}]`)",
                "",
                sample.description,
                "",
                f"- format: {FORMATS['.csv']} The row id is the country.",
                f"- size: N = {ds.N} rows × E = {ds.E} event columns",
                f"- y = {ds.y:g}, stored in the file",
                f"- source: {sample.source}",
                f"- check it: `losslens check assets/{sample.files[0]}`",
            ]
            continue
        ds = generate(**sample.recipe)
        if sample.y is not None and ds.y != sample.y:
            raise SystemExit(f"{key}: the recipe now gives y = {ds.y:g}; update Sample.y")
        paths = [outdir / f for f in sample.files]
        if len(paths) == 1:
            save_dataset(ds, paths[0])
            fmt, y = FORMATS[paths[0].suffix], f"{ds.y:.10g}, stored in the file"
            cmd = f"losslens check assets/{sample.files[0]}"
        else:
            save_pair(ds, paths[0], paths[1])
            fmt, y = FORMATS["pair"], f"{ds.y:g}, not in the files: pass it"
            cmd = f"losslens check {' '.join('assets/' + f for f in sample.files)} --y {ds.y:g}"
        written += paths
        a, b = sample.truth
        readme += [
            "",
            f"## {' + '.join(f'`{f}`' for f in sample.files)} (`SAMPLES[{key!r}]`)",
            "",
            sample.description,
            "",
            f"- format: {fmt}",
            f"- size: N = {ds.N} rows × E = {ds.E} event columns, {ds.n_nonempty} rows with "
            "an event",
            f"- y = {y}",
            f"- truth (α*, β*) = ({a:g}, {b:g})",
            f"- check it: `{cmd}`",
        ]
    (outdir / "README.md").write_text("\n".join(readme) + "\n")
    return [*written, outdir / "README.md"]


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    for path in main(out):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
