"""Where the dashboard may read catalogs from: allowed folders and uploads.

A served dashboard must not read arbitrary server paths, so every path typed
by a user is resolved and checked against the allowed roots:
``sample_catalogs/``, ``../shared/data`` (when present) and the folders in
``LCEXPLORER_DATA_DIRS`` (``os.pathsep``-separated).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from explorer.catalog.loaders import LC_SUFFIX, OBJ_SUFFIX, is_sidecar
from explorer.errors import CatalogError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
UPLOAD_SUFFIXES = (".parquet", ".csv")


def allowed_roots() -> list[Path]:
    """The folders catalogs may be opened from, existing ones only, resolved."""
    roots = [PROJECT_ROOT / "sample_catalogs", Path.cwd() / "sample_catalogs", PROJECT_ROOT.parent / "shared" / "data"]
    for part in os.environ.get("LCEXPLORER_DATA_DIRS", "").split(os.pathsep):
        if part.strip():
            roots.append(Path(part.strip()).expanduser())
    seen: list[Path] = []
    for root in roots:
        root = root.resolve()
        if root.is_dir() and root not in seen:
            seen.append(root)
    return seen




def _is_catalog(path: Path) -> bool:
    if path.is_file():
        name = path.name.lower()
        if name.endswith(OBJ_SUFFIX) or is_sidecar(path):
            return False  # the objects table and label files belong to a catalog listed by its light curves
        return path.suffix.lower() in UPLOAD_SUFFIXES
    if path.is_dir():
        return any(path.glob("*.parquet")) or any(path.glob("*.csv"))
    return False


def list_catalogs() -> dict[str, str]:
    """Catalogs found directly inside the allowed roots, as {label: absolute path}, sample catalogs first."""
    found: dict[str, str] = {}
    for root in allowed_roots():
        for child in sorted(root.iterdir()):
            if child.name.startswith(".") or not _is_catalog(child):
                continue
            shown = child.name[: -len(LC_SUFFIX)] if child.name.endswith(LC_SUFFIX) else child.name
            label = f"{root.name}/{shown}"
            found.setdefault(label, str(child))
    return found


def default_catalog() -> str | None:
    """``LCEXPLORER_CATALOG`` when set, else ``sample_catalogs/macho_like``, else the first catalog found."""
    env = os.environ.get("LCEXPLORER_CATALOG")
    if env:
        return env
    samples = PROJECT_ROOT / "sample_catalogs"
    for macho in (samples / "macho_like", samples / f"macho_like{LC_SUFFIX}"):
        if macho.exists():
            return str(macho)
    catalogs = list_catalogs()
    return next(iter(catalogs.values()), None)


def resolve_catalog_path(path: str | os.PathLike) -> Path:
    """Resolve a user-typed path; CatalogError unless it exists inside an allowed root."""
    raw = Path(path).expanduser()
    candidates = [raw] if raw.is_absolute() else [Path.cwd() / raw, PROJECT_ROOT / raw]
    roots = allowed_roots()
    for cand in candidates:
        resolved = cand.resolve()
        if not resolved.exists():
            continue
        if any(resolved == root or root in resolved.parents for root in roots):
            return resolved
        raise CatalogError(
            f"catalog path {str(path)!r} is outside the allowed folders "
            f"({', '.join(str(r) for r in roots)}); add its folder to LCEXPLORER_DATA_DIRS"
        )
    raise CatalogError(f"catalog path {str(path)!r} does not exist")


def _human(nbytes: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if nbytes < 1024 or unit == "GB":
            return f"{nbytes:.0f} {unit}" if unit == "bytes" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes} bytes"


def read_upload(filename: str, data: bytes, *, max_bytes: int = MAX_UPLOAD_BYTES):
    """Turn an uploaded Parquet/CSV file into a long-format DataFrame; CatalogError when refused."""
    import pandas as pd

    if data is None or len(data) == 0:
        raise CatalogError(f"uploaded file {filename!r} is empty")
    if len(data) > max_bytes:
        raise CatalogError(
            f"uploaded file {filename!r} is {_human(len(data))}, over the {_human(max_bytes)} upload limit; "
            "put it in a folder listed in LCEXPLORER_DATA_DIRS and open it by path instead"
        )
    suffix = Path(filename or "").suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(io.BytesIO(data))
        if suffix == ".csv":
            return pd.read_csv(io.BytesIO(data))
    except Exception as exc:  # pyarrow/pandas raise many types for malformed files
        raise CatalogError(f"cannot read uploaded file {filename!r}: {exc}") from exc
    raise CatalogError(f"uploaded file {filename!r}: only .parquet and .csv are accepted")
