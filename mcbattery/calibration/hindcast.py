"""Rolling-origin hindcasts of learning-curve forecasts, scored against two baselines.

For each series and origin year: fit on the observations up to the origin (inclusive),
forecast every later observed year at its realised cumulative production (as Way et al.
2022 do), and score on log unit cost:

* ``coverage_<p>``: 1 if the realised log cost lies in the central p% interval, else 0;
* ``crps``: continuous ranked probability score [log-cost units; lower is better];
* ``log_score``: negative log predictive density of the realised log cost [nats; lower is
  better] (Gaussian kernel density estimate for sampled forecasts, exact for analytic ones).

Methods: ``mcbattery`` (Bayesian fit + posterior predictive, :mod:`mcbattery.calibration.learning`),
``wright_ols`` (deterministic OLS experience curve on log-log levels; CRPS of a point
forecast is its absolute error; no intervals or density) and ``way2022`` (fixed ρ = 0.19,
OLS exponent and noise scale from the differences before the origin, closed-form forecast
error variance of Lafond et al. 2018 / Farmer & Lafond 2016, Student-t with m−1 degrees
of freedom).
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd
import scipy.special
import scipy.stats

from mcbattery.calibration import learning
from mcbattery.common.errors import InputError

__all__ = [
    "rolling_hindcast",
    "summarise_hindcast",
    "plot_hindcast",
    "crps_sample",
    "crps_gaussian",
    "crps_student_t",
    "log_score_kde",
    "way_forecast",
    "METHODS",
]

METHODS = ("mcbattery", "wright_ols", "way2022")
WAY_RHO = 0.19
_COLUMNS = ("series", "year", "cumulative_production", "unit_cost")


# ---------------------------------------------------------------------------------------
# Scores (all vectorised over forecast points)
# ---------------------------------------------------------------------------------------


def crps_sample(samples, y) -> np.ndarray:
    """Sample CRPS, E|X − y| − ½E|X − X'| with the unbiased ("fair") pair term.

    ``samples`` (S, J) draws of J forecasts, ``y`` (J,) outcomes, same units; returns (J,).
    The pair term uses sorted draws: Σ_ij |x_i − x_j| = 2 Σ_i (2i − S − 1) x_(i).
    """
    x = np.sort(np.asarray(samples, float), axis=0)
    y = np.asarray(y, float)
    s = x.shape[0]
    term1 = np.mean(np.abs(x - y[None, :]), axis=0)
    weights = 2 * np.arange(1, s + 1) - s - 1
    pair_sum = 2 * np.tensordot(weights, x, axes=(0, 0))
    return term1 - pair_sum / (2 * s * (s - 1))


def crps_gaussian(y, mu, sigma) -> np.ndarray:
    """Closed-form CRPS of N(mu, sigma²) at y (Gneiting & Raftery 2007), units of y."""
    z = (np.asarray(y, float) - mu) / sigma
    return sigma * (z * (2 * scipy.stats.norm.cdf(z) - 1) + 2 * scipy.stats.norm.pdf(z) - 1 / np.sqrt(np.pi))


def crps_student_t(y, df, loc, scale) -> np.ndarray:
    """Closed-form CRPS of a location-scale Student t (df > 1; NaN otherwise), units of y."""
    df = np.asarray(df, float)
    z = (np.asarray(y, float) - loc) / scale
    with np.errstate(invalid="ignore", divide="ignore"):
        nu = np.where(df > 1, df, 2.0)
        beta_term = (2 * np.sqrt(nu) * scipy.special.beta(0.5, nu - 0.5)) / (
            (nu - 1) * scipy.special.beta(0.5, nu / 2) ** 2
        )
        core = (
            z * (2 * scipy.stats.t.cdf(z, nu) - 1)
            + 2 * scipy.stats.t.pdf(z, nu) * (nu + z**2) / (nu - 1)
            - beta_term
        )
    return np.where(df > 1, scale * core, np.nan)


def log_score_kde(samples, y) -> np.ndarray:
    """Negative log density at y of a Gaussian KDE of ``samples`` (S, J); returns (J,) nats.

    Bandwidth: Silverman's rule, 0.9·min(sd, IQR/1.34)·S^(−1/5), per point.
    """
    x = np.asarray(samples, float)
    y = np.asarray(y, float)
    s = x.shape[0]
    sd = x.std(axis=0, ddof=1)
    iqr = np.subtract(*np.quantile(x, [0.75, 0.25], axis=0)) / 1.34
    spread = np.where(iqr > 0, np.minimum(sd, iqr), sd)
    h = 0.9 * np.maximum(spread, 1e-12) * s ** (-0.2)
    z = (y[None, :] - x) / h[None, :]
    log_k = scipy.special.logsumexp(-0.5 * z**2, axis=0) - np.log(s * h * np.sqrt(2 * np.pi))
    return -log_k


def _coverage(lower, upper, y) -> np.ndarray:
    return ((y >= lower) & (y <= upper)).astype(float)


# ---------------------------------------------------------------------------------------
# Baselines
# ---------------------------------------------------------------------------------------


def way_forecast(log_cost, log_q, future_log_q, horizons, rho: float = WAY_RHO):
    """Way et al. (2022) / Lafond et al. (2018) analytic Wright's-law forecast of log cost.

    Inputs: training log cost and log cumulative production (m + 1 points, each difference
    one period), future log production and horizons τ [years]. The exponent is OLS on the
    differences without intercept, b̂ = −ΣΔxΔy/ΣΔx²; σ̂² = Σe²/((m−1)(1+ρ²)). The forecast
    error E = Σ_future v − (H/S)Σ Δx_i v_i (H = future Δlog Q, S = ΣΔx²) has variance

        σ²[1 + ρ² + (τ−1)(1+ρ)² − 2ρHΔx_m/S + (H/S)²((1+ρ²)S + 2ρΣΔx_iΔx_{i−1})],

    which for Δx ≡ 1 is Farmer & Lafond's (2016) Moore's-law result. Returns (mean, scale,
    df) of a Student t with df = m − 1.
    """
    dy = np.diff(np.asarray(log_cost, float))
    dx = np.diff(np.asarray(log_q, float))
    m = dy.size
    s = np.sum(dx**2)
    b = -np.sum(dx * dy) / s
    resid = dy + b * dx
    df = m - 1
    sigma2 = np.sum(resid**2) / max(df, 1) / (1 + rho**2)
    h = np.asarray(future_log_q, float) - log_q[-1]
    tau = np.asarray(horizons, float)
    lag = np.sum(dx[1:] * dx[:-1])
    var = sigma2 * (
        1 + rho**2 + (tau - 1) * (1 + rho) ** 2 - 2 * rho * h * dx[-1] / s
        + (h / s) ** 2 * ((1 + rho**2) * s + 2 * rho * lag)
    )
    mean = log_cost[-1] - b * h
    return mean, np.sqrt(np.maximum(var, 0.0)), float(df)


def _wright_ols(log_cost, log_q, future_log_q) -> np.ndarray:
    """Deterministic experience curve: OLS of log cost on log production (with intercept)."""
    slope, intercept = np.polyfit(log_q, log_cost, 1)
    return intercept + slope * np.asarray(future_log_q, float)


# ---------------------------------------------------------------------------------------
# Hindcast
# ---------------------------------------------------------------------------------------


def _level_name(level: float) -> str:
    return f"coverage_{100 * level:g}"


def _check_frame(frame) -> dict:
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"expected a pandas DataFrame; got {type(frame).__name__}", field="frame")
    for col in _COLUMNS:
        if col not in frame.columns:
            raise InputError(f"missing column; expected columns {', '.join(_COLUMNS)}", field=col)
    out = {}
    for name, group in frame.groupby("series", sort=False):
        try:
            s = learning.validate_series(group[list(_COLUMNS[1:])], "wright", min_points=1)
        except InputError as err:
            raise InputError(f"series {name!r}: {err.args[0]}") from None
        out[name] = s
    return out


def _score_rows(series, origin, horizons, method, metrics: dict) -> list[dict]:
    rows = []
    for metric, values in metrics.items():
        for h, v in zip(horizons, np.broadcast_to(values, horizons.shape)):
            rows.append(dict(series=series, origin=origin, horizon=int(h), method=method,
                             metric=metric, value=float(v)))
    return rows


def rolling_hindcast(
    frame: pd.DataFrame,
    origins: Iterable[int] | None = None,
    levels=(0.5, 0.8, 0.95),
    draws: int = 2000,
    seed: int = 0,
    min_points: int = 5,
    *,
    fit_options: dict | None = None,
    methods: Iterable[str] = METHODS,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Rolling-origin hindcast over a tidy frame (series, year, cumulative_production, unit_cost).

    ``origins``: years to forecast from (default: every observed year with at least
    ``min_points`` observations up to it and one after it). ``draws``: posterior-predictive
    draws per forecast. ``fit_options``: passed to :func:`mcbattery.calibration.learning.fit` (e.g.
    smaller chains). Returns a tidy frame (series, origin, horizon, method, metric, value),
    horizon in years ahead, metrics ``coverage_<p>`` per level, ``crps`` and ``log_score``
    on log unit cost. ``progress``: a bar over the origins (as in :func:`mcbattery.forecast`).
    """
    from mcbattery.common.progress import Progress

    levels = tuple(float(v) for v in levels)
    if any(not 0 < v < 1 for v in levels):
        raise InputError(f"expected levels strictly between 0 and 1; got {levels}", field="levels")
    if min_points < 3:
        raise InputError(f"expected min_points ≥ 3; got {min_points}", field="min_points")
    methods = tuple(methods)
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise InputError(f"unknown methods {sorted(unknown)}; expected some of {list(METHODS)}", field="methods")
    fit_options = dict(fit_options or {})
    all_series = _check_frame(frame)
    wanted = None if origins is None else np.unique(np.asarray(list(origins), float))

    def usable(s, origin) -> bool:
        return (s.years <= origin).sum() >= min_points and (s.years > origin).any()

    total = sum(usable(s, o) for s in all_series.values() for o in (s.years if wanted is None else wanted))
    bar = Progress(total, unit="origin", desc="hindcast", enabled=progress, compiling="mcbattery" in methods)
    rows: list[dict] = []
    task = 0
    for name, s in all_series.items():
        years = s.years
        candidates = years if wanted is None else wanted
        for origin in candidates:
            train = years <= origin
            test = years > origin
            if not usable(s, origin):
                continue
            horizons = (years[test] - origin).astype(int)
            y = s.log_cost[test]
            fq = s.log_q[test]
            tag = int(origin)
            if "mcbattery" in methods:
                fitted = learning.fit(s.frame.loc[train], seed=seed + task, **fit_options)
                fc = learning.forecast(fitted, cumulative_production=np.exp(fq), draws=draws,
                                       seed=seed + task, years=years[test])
                x = np.log(fc.values)
                metrics = {}
                for level in levels:
                    lo, hi = np.quantile(x, [(1 - level) / 2, (1 + level) / 2], axis=0)
                    metrics[_level_name(level)] = _coverage(lo, hi, y)
                metrics["crps"] = crps_sample(x, y)
                metrics["log_score"] = log_score_kde(x, y)
                rows += _score_rows(name, tag, horizons, "mcbattery", metrics)
            if "wright_ols" in methods:
                point = _wright_ols(s.log_cost[train], s.log_q[train], fq)
                metrics = {_level_name(level): np.nan for level in levels}
                metrics["crps"] = np.abs(y - point)
                metrics["log_score"] = np.nan
                rows += _score_rows(name, tag, horizons, "wright_ols", metrics)
            if "way2022" in methods:
                mean, scale, df = way_forecast(s.log_cost[train], s.log_q[train], fq, horizons)
                metrics = {}
                for level in levels:
                    half = scale * scipy.stats.t.ppf((1 + level) / 2, df)
                    metrics[_level_name(level)] = _coverage(mean - half, mean + half, y)
                metrics["crps"] = crps_student_t(y, df, mean, scale)
                metrics["log_score"] = -scipy.stats.t.logpdf(y, df, mean, scale)
                rows += _score_rows(name, tag, horizons, "way2022", metrics)
            task += 1
            bar.update(1)
    bar.close()
    columns = ["series", "origin", "horizon", "method", "metric", "value"]
    return pd.DataFrame(rows, columns=columns)


def summarise_hindcast(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean of each metric by method × horizon, plus ``n`` (number of scored forecasts).

    Columns: method, horizon, coverage_<p>…, crps, log_score, n. NaN where a method has
    no such metric (e.g. coverage of the deterministic baseline).
    """
    for col in ("method", "horizon", "metric", "value"):
        if col not in frame.columns:
            raise InputError("missing column; expected a frame from rolling_hindcast", field=col)
    table = frame.pivot_table(index=["method", "horizon"], columns="metric", values="value",
                              aggfunc="mean", dropna=False)
    counts = frame[frame["metric"] == "crps"].groupby(["method", "horizon"])["value"].count()
    table["n"] = counts.reindex(table.index).fillna(0).astype(int)
    table.columns.name = None
    coverage = sorted((c for c in table.columns if c.startswith("coverage_")),
                      key=lambda c: float(c.split("_")[1]))
    ordered = coverage + [c for c in ("crps", "log_score", "n") if c in table.columns]
    return table[ordered].reset_index()


def plot_hindcast(summary: pd.DataFrame):
    """Figure: interval coverage vs nominal, mean CRPS and mean log score by horizon."""
    import matplotlib.pyplot as plt  # lazy: optional dependency

    fig, axes = plt.subplots(1, 3, figsize=(13, 4), constrained_layout=True)
    coverage = [c for c in summary.columns if c.startswith("coverage_")]
    styles = ["-", "--", ":", "-."]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (method, grp) in enumerate(summary.groupby("method", sort=False)):
        grp = grp.sort_values("horizon")
        for j, col in enumerate(coverage):
            if grp[col].notna().any():
                axes[0].plot(grp["horizon"], grp[col], styles[i % len(styles)], color=colors[j % len(colors)],
                             marker="o", ms=3, label=f"{method} {col.split('_')[1]}%")
        axes[1].plot(grp["horizon"], grp["crps"], styles[i % len(styles)], marker="o", ms=3, label=method)
        if grp["log_score"].notna().any():
            axes[2].plot(grp["horizon"], grp["log_score"], styles[i % len(styles)], marker="o", ms=3, label=method)
    for j, col in enumerate(coverage):
        axes[0].axhline(float(col.split("_")[1]) / 100, color=colors[j % len(colors)], lw=0.8, alpha=0.5)
    axes[0].set(xlabel="horizon [years]", ylabel="coverage", ylim=(0, 1.02), title="Interval coverage (lines: nominal)")
    axes[1].set(xlabel="horizon [years]", ylabel="mean CRPS [log cost]", title="CRPS (lower is better)")
    axes[2].set(xlabel="horizon [years]", ylabel="mean −log density [nats]", title="Log score (lower is better)")
    for ax in axes:
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    return fig
