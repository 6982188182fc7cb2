"""Progress feedback for long jobs: a "compiling" stage, then a bar with rate and ETA.

Every long job (forecast, comparison, sensitivity, calibration, hindcast) reports through
:class:`Progress`: while JAX compiles the job's programs the bar reads ``compiling``; from the
first finished piece of work on it counts, and its rate and time left cover the work alone.
The final line is printed once. ``tqdm.auto`` picks the notebook widget in Jupyter (with
ipywidgets installed) and a text bar elsewhere; tqdm is imported only when a bar is shown.

Whether a bar is shown: ``progress=True`` or ``False`` decides; ``None`` (the Python API's
default) shows one in an interactive session (a Jupyter kernel, or a terminal on stderr) and
stays silent in batch jobs and on machines without tqdm. The environment variable
``MCBATTERY_PROGRESS`` (``1`` or ``0``) overrides the automatic choice.
"""

from __future__ import annotations

import os
import sys

__all__ = ["Progress", "wanted"]

COMPILING = "compiling (once per model shape)"


def _interactive() -> bool:
    ipython = sys.modules.get("IPython")
    if ipython is not None:
        shell = ipython.get_ipython()
        if shell is not None and getattr(shell, "kernel", None) is not None:  # a Jupyter kernel
            return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def wanted(progress: bool | None) -> bool:
    """Whether to show a bar: ``progress`` when given, else ``$MCBATTERY_PROGRESS``, else
    whether the session is interactive (and tqdm is installed)."""
    if progress is not None:
        return bool(progress)
    env = os.environ.get("MCBATTERY_PROGRESS", "").strip().lower()
    if env:
        return env not in ("0", "false", "no", "off")
    if not _interactive():
        return False
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return True


class Progress:
    """A progress bar over ``total`` units that starts in a "compiling" stage.

    ``update(n)`` adds finished units; the first call ends the compiling stage (or call
    :meth:`compiled` when compilation is known to be over) and restarts the clock, so the
    rate and ETA describe the work, not the compilation. Disabled, every method does nothing.
    Usable as a context manager.
    """

    def __init__(self, total: int, *, unit: str = "draw", desc: str = "simulating", enabled: bool | None = True,
                 compiling: bool = True):
        self.total = int(total)
        self.desc = desc
        self.bar = None
        self.compiling = False
        if not wanted(enabled) or self.total <= 0:
            return
        from tqdm.auto import tqdm

        self.compiling = compiling
        self.bar = tqdm(total=self.total, unit=unit, unit_scale=True, desc=COMPILING if compiling else desc,
                        smoothing=0.1, dynamic_ncols=True)

    def compiled(self) -> None:
        """End the compiling stage: show the job's own name and restart the clock."""
        if self.bar is None or not self.compiling:
            return
        self.compiling = False
        done = self.bar.n
        self.bar.set_description(self.desc, refresh=False)
        self.bar.reset(total=self.total)
        if done:
            self.bar.update(done)

    def stage(self, text: str) -> None:
        """Name what is being done now (e.g. which model is being fitted)."""
        if self.bar is not None:
            self.bar.set_description(text)

    def update(self, n: int) -> None:
        if self.bar is None:
            return
        self.compiled()
        if self.bar.n + n >= self.total:  # the last step is drawn once, by close()
            self.bar.n = self.total
            return
        self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
