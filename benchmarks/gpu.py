"""GPU benchmark: run on a GPU node with the packages already installed there (jax with CUDA,
numpy, scipy, pandas, xarray, numpyro; nothing is installed), then append the figures and the
device name to benchmarks/RESULTS.md.

    python benchmarks/gpu.py                       # 1e6, 1e7, 1e8 draws x 16 years
    python benchmarks/gpu.py --draws 1000000 --years 8 16 32 --no-write

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


def run_throughput(draws, years, chunk_size, numpy_max) -> list[dict]:
    cmd = [
        sys.executable, str(HERE / "throughput.py"), "--draws", *map(str, draws), "--years", str(years),
        "--chunk-size", str(chunk_size), "--numpy-max-draws", str(numpy_max), "--json",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    sys.stderr.write(proc.stderr)
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def run_host_merge(chunk_size) -> dict:
    """The host's share of a 10^8-draw run (benchmarks/host_merge.py), on this node's CPU."""
    cmd = [sys.executable, str(HERE / "host_merge.py"), "--chunk-size", str(chunk_size), "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def table(rows: list[dict]) -> str:
    head = "| draws | years | engine s | compile s | end to end s | draw-years/s | vs NumPy | rng bound s | engine / rng | peak RSS MB |"
    lines = [head, "|" + "---:|" * 10]
    for r in rows:
        lines.append(
            f"| {r['draws']:.0e} | {r['years']} | {r['engine_s']:.2f} | {r['compile_s']:.1f} | {r['engine_s'] + r['compile_s']:.1f} "
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
    args = ap.parse_args(argv)

    import jax

    dev = jax.devices()[0]
    if dev.platform != "gpu":
        print(f"warning: no GPU visible to JAX (found {dev.platform}); figures will be CPU figures", file=sys.stderr)
    rows = []
    for y in args.years:
        rows += run_throughput(args.draws, y, args.chunk_size, args.numpy_max_draws)
    text = table(rows)
    host = run_host_merge(args.chunk_size)
    best = max(r["engine_draw_years_per_s"] for r in rows)
    e2e = [r for r in rows if r["draws"] >= 10**8]
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = [
        f"\n## GPU run, {stamp}: {len(jax.devices())} x {dev.device_kind} ({dev.platform}), jax {jax.__version__}\n",
        f"Command: `python benchmarks/gpu.py --draws {' '.join(map(str, args.draws))} --years {' '.join(map(str, args.years))} --chunk-size {args.chunk_size}`\n",
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
