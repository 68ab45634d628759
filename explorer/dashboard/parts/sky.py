"""The sky view: the open catalog's objects at their RA/Dec (Aitoff projection), as a map view of a
second state that shares the main state's pointer, filters, display and labels, so a tap, a selection,
a filter, a colour or a label made on either map shows on both."""

from __future__ import annotations

import numpy as np

from ..spatial import PointIndex
from .vectors import Embedding, MapView

RA_NAMES = ("ra", "raj2000", "ra_deg", "radeg", "ra_icrs", "alpha")
DEC_NAMES = ("dec", "decl", "dej2000", "decj2000", "dec_deg", "decdeg", "de_icrs", "delta")


def sky_columns(cat) -> tuple[str, str] | None:
    """The objects table's RA and Dec columns (degrees), None when it has no usable pair."""
    if cat is None:
        return None
    by_lower = {str(c).lower(): str(c) for c in cat.scalar_columns()}
    ra = next((by_lower[n] for n in RA_NAMES if n in by_lower), None)
    dec = next((by_lower[n] for n in DEC_NAMES if n in by_lower), None)
    if ra is None or dec is None:
        return None
    import pandas as pd

    numeric = all(pd.api.types.is_numeric_dtype(cat.objects[c]) and not pd.api.types.is_bool_dtype(cat.objects[c])
                  for c in (ra, dec))
    return (ra, dec) if numeric else None


def aitoff(ra_deg, dec_deg) -> np.ndarray:
    """Aitoff projection of RA/Dec (degrees) to x, y in degrees; RA grows to the left, as on the sky;
    NaN for coordinates outside RA [0, 360] / Dec [-90, 90]."""
    ra = np.asarray(ra_deg, np.float64)
    dec = np.asarray(dec_deg, np.float64)
    bad = ~(np.isfinite(ra) & np.isfinite(dec) & (np.abs(dec) <= 90) & (ra >= -360) & (ra <= 360))
    lon = np.radians(np.mod(ra + 180.0, 360.0) - 180.0)  # -180..180 around RA 0
    lat = np.radians(dec)
    alpha = np.arccos(np.cos(lat) * np.cos(lon / 2))
    sinc = np.where(alpha > 1e-12, np.sin(alpha) / np.where(alpha > 1e-12, alpha, 1.0), 1.0)
    x = -2 * np.cos(lat) * np.sin(lon / 2) / sinc
    y = np.sin(lat) / sinc
    xy = np.degrees(np.column_stack([x, y]))
    xy[bad] = np.nan
    return xy


def sky_view(cat) -> MapView | None:
    """The catalog's objects on the sky (a ``MapView`` of stage ``sky``), None without RA/Dec."""
    cols = sky_columns(cat)
    if cols is None:
        return None
    ra, dec = (cat.objects[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in cols)
    coords = aitoff(ra, dec)
    emb = Embedding(cat, None, ("sky", cat.content_hash()), np.empty((len(cat), 0), np.float32))
    return MapView(embedding=emb, coords=coords, stage="sky", index=PointIndex(coords),
                   params={"method": "aitoff", "ra": cols[0], "dec": cols[1]})


class SkyFollower:
    """Publishes the sky view of each catalog the session opens into a linked state's pipeline."""

    def __init__(self, state):
        self.state = state
        state.pipeline.fixed = True  # the sky is not computed from vectors
        state.session.follow(self)
        self.reset_for(state.session.catalog)

    def reset_for(self, catalog) -> None:
        """A new catalog: its sky view (or none) replaces the previous one."""
        self.state.pipeline._out(embedding=None, map=sky_view(catalog) if catalog is not None else None)
