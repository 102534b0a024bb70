"""The sample files in ``assets/``: one-click examples for the dashboard and the CLI.

    SAMPLES["wide_pair"].paths        # (ASSETS / "wide_I.csv", ASSETS / "wide_D.csv")
    SAMPLES["wide_pair"].y            # the count to pass (None: the file holds it)
    load_sample("exposure_long")      # a Dataset, with the truth it was drawn from

Each sample keeps its recipe (``generate`` arguments and seed): ``assets/make_samples.py``
remakes the files from it, and the tests check that the files still match.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from .errors import DataError
from .generators import PRESETS, Dist
from .io import load_dataset, load_pair
from .model import Dataset

__all__ = ["ASSETS", "SAMPLES", "Sample", "load_sample"]


def _assets_dir() -> Path:
    """The installed sample files: the package ``core.assets`` (``assets/`` in a checkout).

    pyproject.toml maps ``core.assets`` onto ``assets/``, so an editable install and a wheel
    both find the files here. A checkout merely on sys.path (not installed) has no such
    package: its ``assets/`` sits next to ``core/``.
    """
    try:
        return Path(str(resources.files("core.assets")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "assets"


ASSETS = _assets_dir()


@dataclass(frozen=True)
class Sample:
    """Files in ``assets/`` (one file, or an I and a D file), and the y to pass with them."""

    description: str
    files: tuple[str, ...]
    y: float | None  # None: the file holds y
    recipe: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    source: str = ""  # real data: where it comes from and its licence ("": generated)

    @property
    def paths(self) -> tuple[Path, ...]:
        return tuple(ASSETS / f for f in self.files)

    @property
    def truth(self) -> tuple[float, float] | None:
        """(α*, β*) the data were drawn from; None for real data (no truth to know)."""
        if "alpha" not in self.recipe:
            return None
        return (float(self.recipe["alpha"]), float(self.recipe["beta"]))

    def load(self) -> Dataset:
        """The Dataset in the files, with ``truth`` from the recipe."""
        paths = self.paths
        if len(paths) == 1:
            ds = load_dataset(paths[0], y=self.y)
        else:
            ds = load_pair(paths[0], paths[1], y=self.y)
        return Dataset(ds.I, ds.D, ds.y, name=ds.name, truth=self.truth, row_ids=ds.row_ids)


SAMPLES: MappingProxyType[str, Sample] = MappingProxyType(
    {
        "balanced": Sample(
            "The 'balanced' preset as an NPZ file with arrays I, D, y and truth.",
            ("balanced.npz",),
            None,
            MappingProxyType({**PRESETS["balanced"].params, "seed": 0, "name": "balanced"}),
        ),
        "exposure_long": Sample(
            "An exposure log in long form: one line per event (columns row, I, D, y); rows "
            "have 0 to 6 events, I is 1 when exposed, D a duration; y is the sampled count.",
            ("exposure_long.csv",),
            None,
            MappingProxyType(
                dict(
                    N=60,
                    E=6,
                    alpha=0.8,
                    beta=-0.6,
                    I=Dist("bernoulli", p=0.4),
                    D=Dist("lognormal", loc=1.0, scale=0.5),
                    events=(0, 6),
                    y="sampled",
                    seed=4,
                    name="exposure_long",
                )
            ),
        ),
        "gapminder_long": Sample(
            "Real data: life expectancy and income of 142 countries (Gapminder), one line "
            "per five-yearly record 1952-2002 (11 per country). I = log GDP per capita and "
            "D = life expectancy, both standardized over all records (so centred); y = 83, "
            "the countries whose life expectancy in 2007 exceeds 70 years. The model has no "
            "intercept, and with I and D centred no (α, β) at all brings s down to y: the "
            "report says so. Add an intercept (D = 1) to fit it.",
            ("gapminder_long.csv",),
            None,
            MappingProxyType(dict(final=2007, threshold=70.0)),
            source="Gapminder Foundation (gapminder.org/data), CC BY 4.0; the copy bundled "
            "with plotly (plotly.data.gapminder, MIT licence), converted by "
            "assets/make_samples.py",
        ),
        "wide_pair": Sample(
            "I and D as two wide CSV files (one line per row, one column per event, empty "
            "cell = absent event); y is not in the files: pass y = 24.",
            ("wide_I.csv", "wide_D.csv"),
            24.0,
            MappingProxyType(
                dict(
                    N=40,
                    E=5,
                    alpha=1.0,
                    beta=-1.0,
                    I=Dist("normal"),
                    D=Dist("exponential", loc=0.5),
                    events=(3, 5),
                    y="sampled",
                    seed=12,
                    name="wide",
                )
            ),
        ),
    }
)


def load_sample(name: str) -> Dataset:
    """The sample ``name`` (a key of SAMPLES) as a Dataset."""
    if name not in SAMPLES:
        raise DataError(f"Unknown sample {name!r}; expected one of: {', '.join(SAMPLES)}.")
    return SAMPLES[name].load()
