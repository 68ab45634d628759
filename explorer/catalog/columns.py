"""Column detection: map the columns of a light-curve table onto time/value/error/band/object_id.

Names are matched case-insensitively after removing ``_``, ``-``, ``.`` and spaces, so ``mag_err``,
``MagErr`` and ``mag-err`` are one name. Any role can be overridden with ``columns={"time": "hjd", ...}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from explorer.errors import CatalogError

# Candidate names per role, best first (already normalised: lower case, no separators).
OBJECT_ID_NAMES = ("objectid", "oid", "id", "objid", "sourceid", "diaobjectid", "name")
TIME_NAMES = ("time", "mjd", "hmjd", "jd", "hjd", "bjd", "midpointtai", "t")
MAG_NAMES = ("mag", "magnitude", "psfmag")
MAG_ERR_NAMES = ("magerr", "magnitudeerr", "emag", "sigmamag", "magerror", "magsigma")
FLUX_NAMES = ("flux", "fluxcal", "psflux", "fluxjy", "fluxnjy")
FLUX_ERR_NAMES = ("fluxerr", "fluxcalerr", "psfluxerr", "fluxerror", "sigmaflux", "efluxcal", "eflux")
GENERIC_ERR_NAMES = ("sigma", "err", "error", "uncertainty")
BAND_NAMES = ("band", "filter", "passband", "fid", "filtername", "bandname")

ROLES = ("object_id", "time", "value", "error", "band")
# Keys accepted in ``columns=`` besides the roles; they also fix the value kind.
_ALIASES = {
    "mag": ("value", "mag"),
    "magnitude": ("value", "mag"),
    "flux": ("value", "flux"),
    "mag_err": ("error", None),
    "magerr": ("error", None),
    "flux_err": ("error", None),
    "fluxerr": ("error", None),
    "id": ("object_id", None),
    "oid": ("object_id", None),
    "filter": ("band", None),
}
VALUE_KINDS = ("mag", "flux")


def normalise(name: str) -> str:
    """Lower-case ``name`` and drop separators so that spelling variants compare equal."""
    return re.sub(r"[\s_\-.]", "", str(name)).lower()


@dataclass(frozen=True)
class ColumnMap:
    """Which source column plays which role; ``None`` for an absent optional role."""

    object_id: str | None
    time: str
    value: str
    error: str | None
    band: str | None
    value_kind: str

    def as_dict(self) -> dict:
        """The mapping as a plain dict (role -> column name)."""
        return {r: getattr(self, r) for r in ROLES} | {"value_kind": self.value_kind}


def _find(available: Mapping[str, str], candidates: Iterable[str]) -> str | None:
    for cand in candidates:
        if cand in available:
            return available[cand]
    return None


def _guess_kind(column: str) -> str:
    norm = normalise(column)
    return "flux" if "flux" in norm else "mag"


def check_value_kind(value_kind: str | None) -> str | None:
    """Validate a ``value_kind`` argument (``"mag"``, ``"flux"`` or ``None``)."""
    if value_kind is not None and value_kind not in VALUE_KINDS:
        raise CatalogError(f"value_kind must be one of {VALUE_KINDS}, got {value_kind!r}")
    return value_kind


def detect_columns(
    names: Iterable[str],
    *,
    columns: Mapping[str, str] | None = None,
    value_kind: str | None = None,
    need_object_id: bool = True,
    source: str = "the input",
) -> ColumnMap:
    """Find the role of each column among ``names``.

    ``columns`` overrides detection (keys: object_id, time, value, error, band, or the aliases
    mag/flux/mag_err/flux_err). ``value_kind`` picks between magnitude and flux columns when both
    exist and is otherwise inferred from the value column's name. Raises :class:`CatalogError`
    naming ``source`` and listing the columns found when a required role has no column.
    """
    names = [str(n) for n in names]
    check_value_kind(value_kind)
    override: dict[str, str] = {}
    for key, col in (columns or {}).items():
        role, kind = _ALIASES.get(key, (key, None))
        if role not in ROLES:
            raise CatalogError(
                f"columns= has an unknown key {key!r} (for {source}); known keys: "
                f"{', '.join(ROLES + tuple(_ALIASES))}"
            )
        if col is not None and col not in names:
            raise CatalogError(
                f"column {col!r} given for {role!r} is not in {source}; columns found: {', '.join(names)}"
            )
        override[role] = col
        if kind is not None and value_kind is None:
            value_kind = kind

    available: dict[str, str] = {}
    for n in names:
        available.setdefault(normalise(n), n)

    def missing(role: str, cands: Iterable[str]) -> CatalogError:
        return CatalogError(
            f"no {role} column in {source} (looked for {', '.join(cands)}; override with "
            f"columns={{'{role}': ...}}); columns found: {', '.join(names) or '(none)'}"
        )

    object_id = override["object_id"] if "object_id" in override else _find(available, OBJECT_ID_NAMES)
    if object_id is None and need_object_id:
        raise missing("object_id", OBJECT_ID_NAMES)

    time = override["time"] if "time" in override else _find(available, TIME_NAMES)
    if time is None:
        raise missing("time", TIME_NAMES)

    if "value" in override:
        value = override["value"]
        kind = value_kind or _guess_kind(value)
    else:
        mag = _find(available, MAG_NAMES)
        flux = _find(available, FLUX_NAMES)
        if value_kind == "flux" or (value_kind is None and mag is None):
            value, kind = flux, "flux"
            cands = FLUX_NAMES
        else:
            value, kind = mag, "mag"
            cands = MAG_NAMES
        if value is None:
            raise missing("mag or flux" if value_kind is None else value_kind,
                          MAG_NAMES + FLUX_NAMES if value_kind is None else cands)

    if "error" in override:
        error = override["error"]
    else:
        specific = FLUX_ERR_NAMES if kind == "flux" else MAG_ERR_NAMES
        error = _find(available, specific + GENERIC_ERR_NAMES)

    band = override["band"] if "band" in override else _find(available, BAND_NAMES)

    used = [c for c in (object_id, time, value, error, band) if c is not None]
    if len(set(used)) != len(used):
        raise CatalogError(f"one column plays two roles in {source}: {dict(zip(ROLES, (object_id, time, value, error, band)))}")
    return ColumnMap(object_id=object_id, time=time, value=value, error=error, band=band, value_kind=kind)


def detect_object_id(names: Iterable[str], *, column: str | None = None, source: str = "the objects table") -> str:
    """The object-id column among ``names`` (or ``column`` when given); CatalogError listing names if none."""
    names = [str(n) for n in names]
    if column is not None:
        if column not in names:
            raise CatalogError(f"column {column!r} is not in {source}; columns found: {', '.join(names)}")
        return column
    available = {normalise(n): n for n in reversed(names)}
    found = _find(available, OBJECT_ID_NAMES)
    if found is None:
        raise CatalogError(
            f"no object_id column in {source} (looked for {', '.join(OBJECT_ID_NAMES)}); "
            f"columns found: {', '.join(names) or '(none)'}"
        )
    return found
