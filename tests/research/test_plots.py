"""Figures build and are labelled; the forecast card and the Zarr / Parquet exports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from mcbattery.research import plots  # noqa: E402
from mcbattery.common.errors import InputError  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _texts(fig) -> str:
    parts = [t.get_text() for t in fig.texts]
    if getattr(fig, "_supxlabel", None) is not None:
        parts.append(fig._supxlabel.get_text())
    return " ".join(parts).replace("\n", " ")


def _check(fig, xunit=True):
    ax = fig.axes[0]
    assert ax.get_title(), "no title"
    assert ax.get_xlabel() and ax.get_ylabel(), "missing axis labels"
    assert ax.get_legend() is not None, "no legend"
    assert "Source" in _texts(fig), "no source note"
    fig.canvas.draw()


def test_fan_chart_summary_and_draws(baseline_small):
    s = baseline_small.summary
    fig = plots.fan_chart(s, "material_price", sel={"material": "lithium"}, logy=True)
    _check(fig)
    ax = fig.axes[0]
    assert "[USD(2024)/t]" in ax.get_ylabel() and ax.get_xlabel() == "year"
    calibrated = bool(s.attrs["calibrated"])
    assert "scenario baseline" in _texts(fig) and "2,048 draws" in _texts(fig)
    assert ("posterior " + s.attrs["posterior_file"] if calibrated else "priors only") in _texts(fig)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "median" in labels and any("90% interval" in x for x in labels)
    fig = plots.fan_chart(s, "cell_cost", sel={"region": "EU"})
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert {"LFP", "NMC", "sodium-ion"} <= set(labels)
    fig = plots.fan_chart(s, "utilization_world")
    assert "[%]" in fig.axes[0].get_ylabel()
    fig.canvas.draw()
    assert all(t.get_text().endswith("%") for t in fig.axes[0].get_yticklabels() if t.get_text())
    total = baseline_small.draws.demand.sum(["segment", "region"])
    total.attrs = {"units": "GWh/yr", "long_name": "battery demand"}
    _check(plots.fan_chart(total, "demand", label="demand"))
    with pytest.raises(InputError, match="select labels"):
        plots.fan_chart(s, "cell_cost")
    with pytest.raises(InputError, match="quantile 0.33"):
        plots.fan_chart(s, "utilization_world", bands=((0.33, 0.66),))
    with pytest.raises(InputError, match="not available"):
        plots.fan_chart(s, "cell_cost", sel={"region": "XX", "chemistry": "LFP"})
    with pytest.raises(InputError, match="no 'nope'"):
        plots.fan_chart(s, "nope")


def test_exceedance_and_scenarios(baseline_small):
    s, d = baseline_small.summary, baseline_small.draws
    fig = plots.exceedance_curve(d, "material_price", 2030, sel={"material": "lithium"})
    _check(fig)
    assert fig.axes[0].get_ylabel() == "probability of exceeding x" and "2030" in fig.axes[0].get_xlabel()
    fig = plots.exceedance_curve({"a": s, "b": s}, "utilization_world", 2030, below=True)
    _check(fig)
    assert fig.axes[0].get_ylabel() == "probability below x" and "scenarios: a, b" in _texts(fig)
    fig = plots.scenario_comparison({"baseline": s, "again": s}, "unmet_share", {"material": "lithium"})
    _check(fig)
    fig = plots.scenario_comparison({"baseline": s, "again": s}, "utilization_world", {"year": 2030})
    _check(fig)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["again", "baseline"]
    with pytest.raises(InputError):
        plots.scenario_comparison(s, "unmet_share")


def _fake_compare():
    years = np.arange(2025, 2031)
    q = np.linspace(-1, 1, 9)[:, None] * np.linspace(0.1, 1, 6)[None, :]
    ds = xr.Dataset(
        {"material_price_diff_quantile": (("quantile", "year"), q * 1000,
                                          {"units": "USD(2024)/t", "long_name": "quantiles of the difference b - a of world price, annual mean (lithium per t LCE)"})},
        coords={"quantile": [0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975], "year": years},
        attrs={"scenario_a": "baseline", "scenario_b": "shock", "valid_draws": 100, "seed": 0,
               "posterior_file": "none (priors only)", "mcbattery_version": "0"},
    )
    return ds


def test_fan_chart_of_a_paired_difference():
    fig = plots.fan_chart(_fake_compare(), "material_price_diff")
    _check(fig)
    ax = fig.axes[0]
    assert "shock minus baseline" in ax.get_title() and "shock minus baseline" in ax.get_ylabel()
    assert "difference shock - baseline (paired draws)" in _texts(fig)


def _sobol():
    from mcbattery.research.sobol import sobol_indices

    ds = sobol_indices(lambda x: np.stack([x[:, 0] + 0.5 * x[:, 1] ** 2, x[:, 1]], axis=1), [(0, 1)] * 3, 64,
                       names=["demand", "supply", "prices"], bootstrap=50)
    ds = ds.assign_coords(output=["a[year=2030]", "b[year=2030]"], output_units=("output", ["GWh/yr", "1"]))
    ds.attrs.update(scenario="baseline", n=64, engine_seed=0)
    return ds


def test_sobol_bars_and_tornado():
    ds = _sobol()
    fig = plots.sobol_bars(ds)
    assert len(fig.axes) == 2 and all(a.get_title() for a in fig.axes)
    assert "Source" in _texts(fig)
    fig = plots.sobol_bars(ds, "a[year=2030]")
    _check(fig)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()][0] == "demand"
    fig = plots.tornado(ds, output="a[year=2030]")
    _check(fig)
    with pytest.raises(InputError, match="several outputs"):
        plots.tornado(ds)
    oat = xr.Dataset(
        {"low": (("input", "output"), [[1.0], [4.0]]), "high": (("input", "output"), [[9.0], [6.0]]),
         "base": (("output",), [5.0])},
        coords={"input": ["demand", "supply"], "output": ["x[year=2030]"], "output_units": ("output", ["GWh/yr"])},
        attrs={"levels": "0.1, 0.9", "scenario": "baseline", "n": 10},
    )
    fig = plots.tornado(oat)
    _check(fig)
    assert "[GWh/yr]" in fig.axes[0].get_xlabel()
    ticks = {t.get_text(): t.get_position()[1] for t in fig.axes[0].get_yticklabels()}
    assert ticks["demand"] > ticks["supply"]  # the longest bar on top
    fig = plots.tornado({"a": (1.0, 3.0), "b": (0.0, 10.0)}, baseline=2.0, note="Source: test")
    _check(fig)
    with pytest.raises(InputError):
        plots.tornado(42)


def test_hindcast_plot_reuses_hindcast_module():
    summary = pd.DataFrame({"method": ["mcbattery"] * 2 + ["way2022"] * 2, "horizon": [1, 2, 1, 2],
                            "coverage_80": [0.8, 0.7, 0.75, 0.7], "crps": [0.1, 0.2, 0.12, 0.22],
                            "log_score": [0.0, 0.5, 0.1, 0.6], "n": [5, 4, 5, 4]})
    fig = plots.hindcast_plot(summary)
    assert len(fig.axes) == 3 and fig._suptitle.get_text()
    assert "18 scored forecasts" in _texts(fig)
    assert fig.axes[0].get_xlabel() == "horizon [years]"


def test_plant_ramp_from_given_parameters():
    rng = np.random.default_rng(0)
    n = 200
    params = {"scrap_new_plant": rng.uniform(0.3, 0.6, (n, 4)), "scrap_floor": np.full((n, 4), 0.05),
              "scrap_learning_rate": rng.uniform(0.3, 1.5, (n, 4))}
    paths = plots.plant_scrap_paths(regions=("CN", "EU"), years=6, utilization=0.8, params=params)
    assert paths.dims == ("draw", "age", "region") and paths.sizes["age"] == 6
    np.testing.assert_allclose(paths.isel(age=0).values, params["scrap_new_plant"][:, [0, 2]])
    assert np.all(np.diff(paths.values, axis=1) <= 1e-12)  # scrap never rises with age
    fig = plots.plant_ramp(paths=paths)
    _check(fig)
    assert "scrap rate" in fig.axes[0].get_ylabel()
    with pytest.raises(InputError, match="unknown region"):
        plots.plant_scrap_paths(regions=("XX",), params=params)


# ----------------------------------------------------------------------------- card and exports


# ----------------------------------------------------------------------------- every figure, nothing clipped


def _outside(fig) -> list[str]:
    """Texts (titles, labels, tick labels, legends, notes) that reach beyond the canvas."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    canvas = fig.bbox
    bad = []

    def check(what, box):
        if box is None or box.width == 0:
            return
        if box.x0 < canvas.x0 - 0.5 or box.y0 < canvas.y0 - 0.5 or box.x1 > canvas.x1 + 0.5 or box.y1 > canvas.y1 + 0.5:
            bad.append(f"{what}: {box.bounds} outside {canvas.bounds}")

    for i, ax in enumerate(fig.axes):
        check(f"axes {i} ({ax.get_title()[:30]!r})", ax.get_tightbbox(renderer))
    for t in [*fig.texts, *fig.legends, *(getattr(fig, k, None) for k in ("_suptitle", "_supxlabel", "_supylabel"))]:
        if t is not None and t.get_visible():
            check(f"figure text {getattr(t, 'get_text', lambda: 'legend')()[:30]!r}", t.get_window_extent(renderer))
    return bad


def test_every_figure_function_renders_with_nothing_outside_the_canvas(baseline_small):
    import importlib.util
    from pathlib import Path

    from mcbattery.model.outputs import OUTPUTS

    s, d = baseline_small.summary, baseline_small.draws
    figures = {
        "fan_chart log": plots.fan_chart(s, "material_price", logy=True),
        "fan_chart shares": plots.fan_chart(s, "chemistry_share_world"),
        "fan_chart shares per region": plots.fan_chart(s, "chemistry_share", sel={"region": "US"}),
        "fan_chart per region": plots.fan_chart(s, "cell_cost", sel={"region": "EU"}),
        "fan_chart difference": plots.fan_chart(_fake_compare(), "material_price_diff"),
        "small_multiples region x chemistry": plots.small_multiples(s, "cell_cost", rows="region", cols="chemistry"),
        "small_multiples regions": plots.small_multiples(s, "cell_utilization"),
        "small_multiples materials": plots.small_multiples(s, "material_price", logy=True),
        "small_multiples one region": plots.small_multiples(s, "demand", {"region": "EU"}, logy=True),
        "exceedance_curve draws": plots.exceedance_curve(d, "material_price", 2030, sel={"material": "lithium"}),
        "exceedance_curve summaries": plots.exceedance_curve({"a": s, "b": s}, "cell_utilization", 2030, sel={"region": "EU"}, below=True),
        "exceedance_curve thresholds": plots.exceedance_curve(s, "unmet_share", 2030, sel={"material": "graphite"}),
        "scenario_comparison year": plots.scenario_comparison({"a": s, "b": s}, "cell_utilization", {"region": "EU", "year": 2030}),
        "scenario_comparison years": plots.scenario_comparison({"a": s, "b": s}, "material_price", {"material": "nickel"}),
        "sobol_bars": plots.sobol_bars(_sobol()),
        "tornado sobol": plots.tornado(_sobol(), output="a[year=2030]"),
        "hindcast_plot": plots.hindcast_plot(pd.DataFrame({
            "method": ["mcbattery"] * 2 + ["way2022"] * 2, "horizon": [1, 2, 1, 2], "coverage_80": [0.8, 0.7, 0.75, 0.7],
            "crps": [0.1, 0.2, 0.12, 0.22], "log_score": [0.0, 0.5, 0.1, 0.6], "n": [5, 4, 5, 4]})),
        "plant_ramp": plots.plant_ramp(paths=plots.plant_scrap_paths(params={
            "scrap_new_plant": np.full((50, 4), 0.4), "scrap_floor": np.full((50, 4), 0.05),
            "scrap_learning_rate": np.linspace(0.3, 1.5, 200).reshape(50, 4)})),
    }
    try:
        import ema_workbench  # noqa: F401
    except ImportError:
        pass
    else:
        spec = importlib.util.spec_from_file_location("discover_tests", Path(__file__).with_name("test_discover.py"))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        from mcbattery.research.discover import discover

        figures["peeling_tradeoff"] = plots.peeling_tradeoff(discover(mod.synthetic(), "shortage[year=2030] > 0.1"))
    public = {name for name in plots.__all__ if name not in ("provenance_note", "add_note", "plant_scrap_paths",
                                                             "format_axis", "label_name", "output_label", "value_text")}
    drawn = {key.split()[0] for key in figures}
    assert public <= drawn, f"figure functions not rendered here: {sorted(public - drawn)}"
    problems = {name: _outside(fig) for name, fig in figures.items()}
    assert not {k: v for k, v in problems.items() if v}
    for name, fig in figures.items():  # no internal names in what a reader sees
        words = " ".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))
        assert "[fraction]" not in words and "utilization[" not in words, name
        # ... nor output names (the source note may name data files)
        shown = " ".join(t.get_text() for t in fig.findobj(matplotlib.text.Text) if t is not getattr(fig, "_supxlabel", None))
        assert not [k for k in OUTPUTS if "_" in k and k in shown], name


def test_small_multiples_share_axes_and_one_legend(baseline_small):
    fig = plots.small_multiples(baseline_small.summary, "cell_cost", rows="region", cols="chemistry")
    axes = [a for a in fig.axes if a.get_xlabel() == "" or True]
    assert len(axes) == 4 * 3 and len(fig.legends) == 1
    assert [a.get_title() for a in axes[:3]] == ["LFP", "NMC", "sodium-ion"]
    assert "USD(2024)/kWh" in fig._supylabel.get_text()
    with pytest.raises(InputError, match="one or two dims"):
        plots.small_multiples(baseline_small.summary, "pack_price_average")
    fig = plots.small_multiples(baseline_small.summary, "material_price", logy=True)
    assert [a.get_title() for a in fig.axes] == ["lithium", "nickel", "cobalt", "graphite"] and len(fig.legends) == 1
    assert "USD(2024)/t" in fig._supylabel.get_text()


def test_a_ratio_output_is_shown_as_a_multiple_not_in_per_cent(baseline_small):
    import matplotlib

    matplotlib.use("Agg")
    fig = plots.fan_chart(baseline_small.summary, "price_ratio", sel={"material": "lithium"}, logy=True)
    labels = " ".join(ax.get_ylabel() for ax in fig.axes)
    assert "long-run price" in labels and "%" not in labels
    assert plots.outcome_label("price_ratio[year=2030,material=lithium] > 2").endswith("> 2 x long-run price")
