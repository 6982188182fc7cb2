"""Which random numbers one draw consumes each year: named slots in a vector of standard
normals and one of uniforms. The layout follows the coordinates (one demand shock per
segment, one cost shock per chemistry, one lead time per project of each pipeline row), and a
slot's position never depends on anything but the coordinates, so draws do not depend on
chunking or devices.
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
    """Pipeline rows: mining, refining, recycling, then cells per region."""
    return 3 + coords.size("region")


def layout(coords: Coords) -> NoiseLayout:
    """The per-year slots. The lithium price runs monthly inside the year (12 normals, 12
    uniforms); every pipeline project draws a lead time, a delay flag, a delay length and a
    cancellation flag; every region's announced cell tranche draws a delay."""
    projects = pipeline_rows(coords) * pipeline.PROJECTS_PER_ORDER
    n_seg, n_chem = coords.size("segment"), coords.size("chemistry")
    normal = (("demand", n_seg), ("price", prices.MONTHS), ("cost", n_chem), ("lead", projects), ("drift", n_chem))
    uniform = (("regime", prices.MONTHS), ("delay", projects), ("extra", projects), ("cancel", projects),
               ("announced", coords.size("region")))
    (normal_offsets, n_normals), (uniform_offsets, n_uniforms) = _offsets(normal), _offsets(uniform)
    return NoiseLayout(normal_offsets, n_normals, uniform_offsets, n_uniforms)


def take(x, offsets: dict, name: str):
    """The slots ``name`` of a year's random numbers (slot axis first, draws last)."""
    a, b = offsets[name]
    return x[a:b]
