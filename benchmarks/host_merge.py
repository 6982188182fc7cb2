"""Host-side cost of a run: what the CPU does per chunk while the devices simulate.

    python benchmarks/host_merge.py [--draws 100000000] [--chunk-size 1048576] [--years 16] [--json]

The engine sends the host, per chunk, one tree node (count, mean, M2 per output column) per
group of ``engine.GROUP`` blocks plus per-device extrema and exceedance counts; histogram totals
stay on the devices and are read back once. This script feeds :class:`mcbattery.engine.streaming.Accumulator`
exactly those arrays, with the real column count, for a run of N draws cut in chunks, and times
the host work alone (no simulation). On an accelerator that simulates N draws in T seconds, the
host work overlaps the next chunk (the engine dispatches it first) as long as it stays below T.

Prints: host_s (all chunks' merges plus the final histogram read), host_s_per_1e8_draws,
groups, chunks, and the same merge done block by block (``per_block_s``, one node per block of
``engine.BLOCK`` draws, as the engine did before groups were merged on the device) for scale.
Needs only numpy and the package.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from mcbattery import engine
from mcbattery.engine.layout import make_layout
from mcbattery.inputs.priors import shipped_coords
from mcbattery.engine.streaming import Accumulator
from mcbattery.model.outputs import BINS, OUTPUTS


def n_columns(years: int) -> tuple[int, int]:
    layout = make_layout(years, 2025, {k: v.thresholds for k, v in OUTPUTS.items()}, shipped_coords())
    return layout.n_columns, layout.thr_cols.size


def merge_time(draws: int, chunk: int, draws_per_node: int, cols: int, n_thr: int, n_dev: int = 1) -> tuple[float, int]:
    """Seconds of host work to merge a run of ``draws`` draws sent as nodes of
    ``draws_per_node`` draws, ``chunk`` draws per call; and the number of nodes."""
    rng = np.random.default_rng(0)
    per_chunk = chunk // draws_per_node
    n = np.full(per_chunk, draws_per_node, np.float32)
    mean = rng.normal(size=(per_chunk, cols)).astype(np.float32)
    m2 = rng.random((per_chunk, cols)).astype(np.float32) * draws_per_node
    vmin, vmax = np.zeros((n_dev, cols), np.float32), np.ones((n_dev, cols), np.float32)
    exceed, invalid = np.zeros((n_dev, n_thr), np.int32), np.zeros(n_dev, np.int32)
    hist = np.zeros((n_dev, cols * (BINS + 2) + 1), np.int32)
    acc = Accumulator(cols, n_thr)
    nodes = 0
    t0 = time.perf_counter()
    for start in range(0, draws, chunk):
        k = min(per_chunk, -(-(draws - start) // draws_per_node))
        acc.add_moments(n[:k], mean[:k], m2[:k])
        acc.add_counts(vmin.min(axis=0), vmax.max(axis=0), exceed.sum(axis=0, dtype=np.int64), int(invalid.sum()))
        nodes += k
    acc.add_hist(hist[:, :-1].sum(axis=0, dtype=np.int64).reshape(cols, BINS + 2))
    return time.perf_counter() - t0, nodes


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--draws", type=int, default=10**8)
    ap.add_argument("--chunk-size", type=int, default=2**20)
    ap.add_argument("--years", type=int, default=16)
    ap.add_argument("--per-block-draws", type=int, default=10**7,
                    help="draws for the block-by-block comparison (scaled to --draws)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    cols, n_thr = n_columns(args.years)
    group = engine.GROUP * engine.BLOCK
    host_s, groups = merge_time(args.draws, args.chunk_size, group, cols, n_thr)
    m = min(args.per_block_draws, args.draws)
    block_s, _ = merge_time(m, args.chunk_size, engine.BLOCK, cols, n_thr)
    out = {
        "draws": args.draws,
        "chunk_size": args.chunk_size,
        "columns": cols,
        "groups": groups,
        "chunks": -(-args.draws // args.chunk_size),
        "host_s": round(host_s, 3),
        "host_s_per_1e8_draws": round(host_s * 1e8 / args.draws, 3),
        "per_block_s": round(block_s * args.draws / m, 3),
        "per_block_measured_draws": m,
    }
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:26s} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
