"""Rolling-origin hindcasts of mcbattery.calibration.learning on real and simulated panels.

Reproduces the figures in docs/learning.md ("What to expect"):

* ``pcdb``: 23 historical cost/production series (benchmarks/data/technology_panel.csv,
  sources in benchmarks/data/SOURCES.md), every ``--origin-step``-th origin with at least
  5 points up to it;
* ``fixed`` / ``drifting``: simulated panels (20 series of 10-21 years, parameters drawn
  from the default priors; the drifting panel's exponent walks with step sd 0.08 per year);
* ``battery``: the built-in Li-ion cell series, origins 2012-2018 and 2018 alone.

Methods: ``mcbattery`` (time-varying exponent, the default fit), ``static`` (the same
fit with ``drift=False``: constant exponent, MA(1) noise) and ``way2022`` (Way et al. 2022).
Prints coverage of the 50/80/95 % intervals, mean CRPS and log score (log unit cost) by
horizon and pooled over horizons 1-10.

    python benchmarks/learning_hindcast.py                 # all panels, about 5 min on 2 cores
    python benchmarks/learning_hindcast.py --panels battery --samples 1000 --chains 4
    python benchmarks/learning_hindcast.py --scores out/scores.csv   # per-forecast scores too
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mcbattery.calibration import hindcast
from mcbattery.calibration import learning

HERE = Path(__file__).resolve().parent
PANEL = HERE / "data" / "technology_panel.csv"
PANELS = ("pcdb", "fixed", "drifting", "battery")
MAX_HORIZON = 10


def simulated_panel(drift: float, n_series: int = 20, seed: int = 0) -> pd.DataFrame:
    """Series of 10-21 annual points with b, σ, ρ from the default priors; exponent step sd ``drift``."""
    rng = np.random.default_rng(seed)
    truth = learning.sample_prior(num_samples=n_series, seed=seed)
    frames = []
    for i in range(n_series):
        n = int(rng.integers(10, 22))
        q = np.exp(np.concatenate([[0.0], np.cumsum(rng.uniform(0.1, 0.6, n - 1))]))
        f = learning.simulate(truth["learning_exponent"][i], truth["noise_scale"][i],
                              truth["noise_autocorrelation"][i], q, initial_cost=100.0, seed=seed + i,
                              exponent_drift=drift)
        frames.append(f.assign(series=f"sim{i:02d}"))
    return pd.concat(frames, ignore_index=True)


def battery_panel() -> pd.DataFrame:
    """The Li-ion cell series from 2010 (IEA-based production only), as in docs/learning.md's
    table; ``mcbattery hindcast`` scores the default 1991-2024 series."""
    from mcbattery import calibration

    return calibration.cell_series(first_year=2010)


def run_panel(frame, origins_of, args, min_points) -> pd.DataFrame:
    """Hindcast every series at its chosen origins with the three methods; horizons ≤ 10."""
    fit_options = dict(num_warmup=args.samples, num_samples=args.samples, num_chains=args.chains)
    if args.drift_median is not None:
        fit_options["priors"] = {"drift_median": args.drift_median}
    out = []
    for k, (name, group) in enumerate(frame.groupby("series", sort=False)):
        origins = origins_of(np.sort(group["year"].to_numpy()))
        if len(origins) == 0:
            continue
        seed = args.seed + 1000 * k
        wanted = [m for m in ("mcbattery", "way2022") if m in args.methods]
        if wanted:
            out.append(hindcast.rolling_hindcast(group, origins=origins, draws=args.draws, seed=seed,
                                                 min_points=min_points, fit_options=fit_options, methods=wanted))
        if "static" in args.methods:
            static = hindcast.rolling_hindcast(group, origins=origins, draws=args.draws, seed=seed,
                                               min_points=min_points, fit_options={**fit_options, "drift": False},
                                               methods=("mcbattery",))
            out.append(static.assign(method="static"))
    result = pd.concat(out, ignore_index=True)
    return result[result["horizon"] <= MAX_HORIZON]


def table(result: pd.DataFrame) -> pd.DataFrame:
    """Mean scores by method and horizon, plus a pooled row ('1-10') per method."""
    summary = hindcast.summarise_hindcast(result)
    summary["horizon"] = summary["horizon"].astype(str)
    pooled = hindcast.summarise_hindcast(result.assign(horizon=0))
    pooled["horizon"] = f"1-{MAX_HORIZON}"
    pooled["n"] = result[result.metric == "crps"].groupby("method")["value"].count().reindex(pooled.method).values
    order = {"mcbattery": 0, "static": 1, "way2022": 2}
    both = pd.concat([summary, pooled], ignore_index=True)
    both["_m"] = both["method"].map(order)
    both["_h"] = both["horizon"].map(lambda h: 99 if "-" in h else int(h))
    return both.sort_values(["_m", "_h"]).drop(columns=["_m", "_h"]).reset_index(drop=True)


def select_drift(values, args) -> None:
    """Leave-one-series-out choice of the τ prior median on the PCDB panel.

    For each held-out series, pick the median with the lowest mean log score (horizons
    1-10) on the other series, and score the held-out series with it.
    """
    frame = pd.read_csv(PANEL)
    scores = {}
    for v in values:
        opts = argparse.Namespace(**{**vars(args), "drift_median": v, "methods": ["mcbattery"]})
        result = run_panel(frame, lambda years: years[4:-1][::args.origin_step], opts, 5)
        scores[v] = result[result.metric == "log_score"].groupby("series")["value"].agg(["sum", "count"])
        pooled = result.groupby("metric")["value"].mean()
        print(f"drift median {v:g}: pooled log score {pooled['log_score']:.3f}, CRPS {pooled['crps']:.3f}, "
              f"coverage 50/80/95 {pooled['coverage_50']:.3f}/{pooled['coverage_80']:.3f}/{pooled['coverage_95']:.3f}")
    series = scores[values[0]].index
    chosen, held_out, n = {}, 0.0, 0
    for name in series:
        rest = {v: (s_.drop(name)["sum"].sum() / s_.drop(name)["count"].sum()) for v, s_ in scores.items()}
        best = min(rest, key=rest.get)
        chosen[name] = best
        held_out += scores[best].loc[name, "sum"]
        n += scores[best].loc[name, "count"]
    counts = pd.Series(chosen).value_counts()
    print("leave-one-series-out choice (series per median):", ", ".join(f"{k:g}: {c}" for k, c in counts.items()))
    print(f"held-out mean log score with the chosen median: {held_out / n:.3f} over {n} forecasts")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--panels", nargs="+", choices=PANELS, default=list(PANELS))
    parser.add_argument("--draws", type=int, default=1000, help="forecast draws per origin [1000]")
    parser.add_argument("--samples", type=int, default=300, help="NUTS warm-up and kept draws per chain [300]")
    parser.add_argument("--chains", type=int, default=2, help="chains per fit [2]")
    parser.add_argument("--origin-step", type=int, default=2,
                        help="use every k-th eligible origin of the real and simulated panels [2]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", nargs="+", choices=("mcbattery", "static", "way2022"),
                        default=["mcbattery", "static", "way2022"])
    parser.add_argument("--drift-median", type=float, default=None,
                        help="prior median of the exponent's yearly step sd τ [LearningCurvePriors().drift_median]")
    parser.add_argument("--scores", type=Path, default=None, help="write per-forecast scores to this CSV")
    parser.add_argument("--select-drift", type=float, nargs="+", default=None, metavar="MEDIAN",
                        help="only run the leave-one-series-out choice of the τ prior median on the PCDB panel")
    args = parser.parse_args(argv)
    if args.select_drift:
        select_drift(args.select_drift, args)
        return

    def thinned(min_points):
        return lambda years: years[min_points - 1:-1][::args.origin_step]

    jobs = {
        "pcdb": lambda: (pd.read_csv(PANEL), thinned(5), 5),
        "fixed": lambda: (simulated_panel(0.0, seed=args.seed), thinned(5), 5),
        "drifting": lambda: (simulated_panel(0.08, seed=args.seed + 1), thinned(5), 5),
        "battery": lambda: (battery_panel(), lambda years: years[(years >= 2012) & (years <= 2018)], 3),
    }
    all_scores = []
    pd.set_option("display.width", 200)
    pd.set_option("display.max_rows", 500)
    for panel in args.panels:
        start = time.perf_counter()
        frame, origins_of, min_points = jobs[panel]()
        result = run_panel(frame, origins_of, args, min_points).assign(panel=panel)
        all_scores.append(result)
        n_series = result["series"].nunique()
        n_origins = result[["series", "origin"]].drop_duplicates().shape[0]
        print(f"\n== {panel}: {n_series} series, {n_origins} origins, {time.perf_counter() - start:.0f} s ==")
        print(table(result).to_string(index=False, float_format="{:.3f}".format))
        if panel == "battery":
            last = result[result["origin"] == 2018]
            print("\n-- battery, origin 2018 only (targets 2019-2024) --")
            print(table(last).to_string(index=False, float_format="{:.3f}".format))
    if args.scores is not None:
        args.scores.parent.mkdir(parents=True, exist_ok=True)
        pd.concat(all_scores, ignore_index=True).to_csv(args.scores, index=False)


if __name__ == "__main__":
    main()
