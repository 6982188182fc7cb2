"""GPU benchmark: run on a GPU node with the packages already installed there (jax with CUDA,
numpy, scipy, pandas, xarray, numpyro; nothing is installed), then append the figures and the
device name to benchmarks/RESULTS.md.

    python benchmarks/gpu.py                       # 1e6, 1e7, 1e8 draws x 16 years
    python benchmarks/gpu.py --draws 1000000 --years 8 16 32 --no-write
    python benchmarks/gpu.py --wave-groups 8 16 32 64  # first pick the loop-turn width at 1e7 draws

With several --wave-groups values, each is timed on --sweep-draws draws x 16 years first (a
table of its own), and the fastest is used for the main runs; with one value, that one is used.
JAX runs only in the child processes, so this script never holds GPU memory itself.

Targets it reports against: >= 1e9 draw-years/s for the full model on one H100, and 1e8 draws
end to end (compilation included) in under 30 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"


def run_throughput(draws, years, chunk_size, numpy_max, wave_groups=None) -> list[dict]:
    cmd = [
        sys.executable, str(HERE / "throughput.py"), "--draws", *map(str, draws), "--years", str(years),
        "--chunk-size", str(chunk_size), "--numpy-max-draws", str(numpy_max), "--json",
    ]
    if wave_groups is not None:
        cmd += ["--wave-groups", str(wave_groups)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    sys.stderr.write(proc.stderr)
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def run_host_merge(chunk_size) -> dict:
    """The host's share of a 10^8-draw run (benchmarks/host_merge.py), on this node's CPU."""
    cmd = [sys.executable, str(HERE / "host_merge.py"), "--chunk-size", str(chunk_size), "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def table(rows: list[dict]) -> str:
    head = ("| draws | years | wave groups | engine s | compile s | end to end s | draw-years/s | vs NumPy "
            "| rng bound s | engine / rng | peak RSS MB |")
    lines = [head, "|" + "---:|" * 11]
    for r in rows:
        lines.append(
            f"| {r['draws']:.0e} | {r['years']} | {r.get('wave_groups', '')} | {r['engine_s']:.2f} | {r['compile_s']:.1f} "
            f"| {r['engine_s'] + r['compile_s']:.1f} "
            f"| {r['engine_draw_years_per_s']:.3g} | {r['speedup_vs_numpy']:.1f}x | {r['rng_bound_s']:.2f} | {r['ratio_to_rng_bound']:.2f} | {r['peak_rss_mb']:.0f} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--draws", type=int, nargs="+", default=[10**6, 10**7, 10**8])
    ap.add_argument("--years", type=int, nargs="+", default=[16])
    ap.add_argument("--chunk-size", type=int, default=2**20)
    ap.add_argument("--numpy-max-draws", type=int, default=20_000)
    ap.add_argument("--no-write", action="store_true", help="print only; do not append to RESULTS.md")
    ap.add_argument("--wave-groups", type=int, nargs="+", default=None,
                    help="loop-turn widths in groups of 4,096 draws (default: the engine's); several: sweep, keep the fastest")
    ap.add_argument("--sweep-draws", type=int, default=10**7, help="draws per --wave-groups sweep run")
    args = ap.parse_args(argv)

    # JAX runs only in the child processes: a parent holding the GPU would keep most of its
    # memory (JAX preallocates) from the runs it times.
    sweep, waves = [], (args.wave_groups or [None])[0]
    if args.wave_groups and len(args.wave_groups) > 1:
        for w in args.wave_groups:
            sweep += run_throughput([args.sweep_draws], 16, args.chunk_size, args.numpy_max_draws, w)
        waves = max(sweep, key=lambda r: r["engine_draw_years_per_s"])["wave_groups"]
    rows = []
    for y in args.years:
        rows += run_throughput(args.draws, y, args.chunk_size, args.numpy_max_draws, waves)
    if rows[0]["platform"] != "gpu":
        print(f"warning: no GPU visible to JAX (found {rows[0]['platform']}); these are CPU figures", file=sys.stderr)
    text = table(rows)
    host = run_host_merge(args.chunk_size)
    best = max(r["engine_draw_years_per_s"] for r in rows)
    e2e = [r for r in rows if r["draws"] >= 10**8]
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = [
        f"\n## GPU run, {stamp}: {rows[0]['device']} ({rows[0]['platform']}), jax {rows[0]['jax_version']}\n",
        f"Command: `python benchmarks/gpu.py --draws {' '.join(map(str, args.draws))} --years {' '.join(map(str, args.years))} --chunk-size {args.chunk_size}"
        + (f" --wave-groups {' '.join(map(str, args.wave_groups))}" if args.wave_groups else "") + "`\n",
        *([f"Loop-turn width sweep ({args.sweep_draws:.0e} draws; the fastest, {waves} groups, is used below):\n",
           table(sweep), ""] if sweep else []),
        text,
        "",
        f"Best throughput {best:.3g} draw-years/s (target 1e9)."
        + (f" 1e8 draws end to end: {e2e[0]['engine_s'] + e2e[0]['compile_s']:.1f} s (target < 30 s)." if e2e else ""),
        "",
        f"Host work for 1e8 draws (`benchmarks/host_merge.py`, this node's CPU, overlapped with the GPU): "
        f"{host['host_s_per_1e8_draws']:.2f} s ({host['groups']} group nodes in {host['chunks']} chunks).",
        "",
    ]
    out = "\n".join(section)
    print(out)
    if not args.no_write:
        with open(RESULTS, "a", encoding="utf-8") as fh:
            fh.write(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
