"""Streaming statistics on the host: Chan et al.'s pairwise merge of (count, mean, M2), applied
along a binary tree over the global index of the nodes the devices send, plus exact integer
counts, so that merged statistics depend only on the sequence of nodes, never on how chunks or
devices cut it. :func:`tree_merge` and :func:`chan_merge` also run on the device (``xp=jnp``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mcbattery.model.outputs import BINS

MERGE_GROUP = 64  # tree nodes merged at once in vectorised form on the host


def chan_merge(na, ma, m2a, nb, mb, m2b, xp=np):
    """Chan et al.'s pairwise merge of (count, mean, M2), older part ``a`` then newer ``b``;
    counts broadcast against the columns. Merging with an empty part (count 0, mean 0, M2 0)
    returns the other part exactly. ``xp``: numpy (host, float64) or jax.numpy (device)."""
    total = na + nb
    safe = xp.maximum(total, 1)
    delta = mb - ma
    return total, ma + delta * (nb / safe), m2a + m2b + delta**2 * (na * nb / safe)


@dataclass
class Accumulator:
    """Host-side merge of per-node statistics (float64 / int64).

    Moments arrive as consecutive tree nodes (the engine sends one node per group of GROUP
    blocks, already merged on the device) and are merged along a binary tree over the global
    node index (a binary counter: a stack of complete subtrees, combined newest-first when
    read), so the result depends only on the sequence of nodes, not on how chunks cut it;
    whole aligned subtrees of a chunk are merged level by level in vectorised form. Trailing
    empty nodes (padding) change nothing.
    """

    n_columns: int
    n_thresholds: int
    count: int = 0
    mean: np.ndarray | None = None
    m2: np.ndarray | None = None
    vmin: np.ndarray | None = None
    vmax: np.ndarray | None = None
    hist: np.ndarray | None = None
    exceed: np.ndarray | None = None
    invalid: int = 0
    nodes: int = 0  # nodes added so far (their global index order)
    stack: list = field(default_factory=list)  # [(level, count, mean, m2)], oldest first

    def __post_init__(self):
        e = self.n_columns
        self.mean = np.zeros(e)
        self.m2 = np.zeros(e)
        self.vmin = np.full(e, np.inf)
        self.vmax = np.full(e, -np.inf)
        self.hist = np.zeros((e, BINS + 2), dtype=np.int64)
        self.exceed = np.zeros(self.n_thresholds, dtype=np.int64)

    def _push(self, level, n, mean, m2):
        while self.stack and self.stack[-1][0] == level:
            _, n0, mean0, m20 = self.stack.pop()
            n, mean, m2 = chan_merge(n0, mean0, m20, n, mean, m2)
            level += 1
        self.stack.append((level, n, mean, m2))

    def add_moments(self, n, mean, m2):
        """Add consecutive nodes' count (k,), mean (k, columns) and M2 (k, columns)."""
        i, m = 0, n.shape[0]
        while i < m:
            size = 1  # the largest aligned power-of-two group that starts here, up to MERGE_GROUP
            while self.nodes % (2 * size) == 0 and 2 * size <= min(m - i, MERGE_GROUP):
                size *= 2
            # small groups keep the float64 temporaries in cache; pushing their roots merges
            # them further up the same tree
            root = tree_merge(*(np.asarray(a[i : i + size], np.float64) for a in (n, mean, m2)))
            self._push(size.bit_length() - 1, *root)
            self.nodes += size
            i += size
        self._read()

    def add_counts(self, vmin, vmax, exceed, invalid):
        """Add running extrema, exceedance counts and the number of non-finite draws."""
        self.vmin = np.minimum(self.vmin, vmin)
        self.vmax = np.maximum(self.vmax, vmax)
        self.exceed += exceed.astype(np.int64)
        self.invalid += int(invalid)

    def add_hist(self, hist):
        """Add histogram counts (columns, BINS + 2)."""
        self.hist += hist.astype(np.int64)

    def _read(self):
        """count, mean, M2 of everything added: the stack merged newest-first."""
        if not self.stack:
            return
        _, n, mean, m2 = self.stack[-1]
        for _, n0, mean0, m20 in reversed(self.stack[:-1]):
            n, mean, m2 = chan_merge(n0, mean0, m20, n, mean, m2)
        self.count, self.mean, self.m2 = int(round(float(n))), mean, m2

    def merge(self, other: "Accumulator") -> None:
        """Add another accumulator's draws (e.g. a later host's share) to this one."""
        n, self.mean, self.m2 = chan_merge(float(self.count), self.mean, self.m2, float(other.count), other.mean, other.m2)
        self.count = int(round(n))
        self.stack = [(np.inf, float(self.count), self.mean, self.m2)]  # closed: later blocks do not merge into it
        self.vmin = np.minimum(self.vmin, other.vmin)
        self.vmax = np.maximum(self.vmax, other.vmax)
        self.hist += other.hist
        self.exceed += other.exceed
        self.invalid += other.invalid


def _pair_level(n, mean, m2, xp=np):
    """Merge neighbouring nodes (0, 1), (2, 3), ... of (count (k,), mean (k, C), M2 (k, C))."""
    total, mean, m2 = chan_merge(n[0::2, None], mean[0::2], m2[0::2], n[1::2, None], mean[1::2], m2[1::2], xp)
    return total[:, 0], mean, m2


def tree_merge(n, mean, m2, xp=np):
    """Merge 2**k nodes (count (2**k,), mean and M2 (2**k, C)) level by level into one."""
    while n.shape[0] > 1:
        n, mean, m2 = _pair_level(n, mean, m2, xp)
    return n[0], mean[0], m2[0]
