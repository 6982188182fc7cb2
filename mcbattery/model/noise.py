"""Which random numbers one draw consumes each year: named slots in a vector of standard
normals and one of uniforms. The layout follows the coordinates (one demand shock per
segment, a monthly price shock per material, one cost shock per chemistry, one lead time per
project of each pipeline row, ...), and a slot's position depends on nothing but the
coordinates, so draws do not depend on chunking or devices.
"""

from __future__ import annotations

from typing import NamedTuple

from mcbattery.model import pipeline, prices
from mcbattery.model.coords import Coords


class NoiseLayout(NamedTuple):
    """Slot offsets ``name -> (start, stop)`` and totals per year."""

    normal: dict
    n_normals: int
    uniform: dict
    n_uniforms: int


def _offsets(slots):
    out, k = {}, 0
    for name, n in slots:
        out[name] = (k, k + n)
        k += n
    return out, k


def pipeline_rows(coords: Coords) -> int:
    """Pipeline rows: mining and refining per material, recycling, then cells per region."""
    return 2 * coords.size("material") + 1 + coords.size("region")


def layout(coords: Coords) -> NoiseLayout:
    """The per-year slots."""
    projects = pipeline_rows(coords) * pipeline.PROJECTS_PER_ORDER
    n_seg, n_chem, n_mat = coords.size("segment"), coords.size("chemistry"), coords.size("material")
    normal = (("demand", n_seg), ("other_demand", n_mat), ("price", prices.MONTHS * n_mat), ("disruption", n_mat),
              ("cost", n_chem), ("drift", n_chem), ("lead", projects))
    uniform = (("delay", projects), ("extra", projects), ("cancel", projects), ("announced", coords.size("region")))
    (normal_offsets, n_normals), (uniform_offsets, n_uniforms) = _offsets(normal), _offsets(uniform)
    return NoiseLayout(normal_offsets, n_normals, uniform_offsets, n_uniforms)


def take(x, offsets: dict, name: str):
    """The slots ``name`` of a year's random numbers (slot axis first, draws last)."""
    a, b = offsets[name]
    return x[a:b]
