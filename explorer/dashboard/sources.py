"""Where the dashboard may read catalogs from: allowed folders and uploads.

A served dashboard must not read arbitrary server paths, so every path typed
by a user is resolved and checked against the allowed roots:
``sample_catalogs/``, ``../shared/data`` (when present) and the folders in
``LCEXPLORER_DATA_DIRS`` (``os.pathsep``-separated).
"""

from __future__ import annotations

import os
from pathlib import Path

from explorer.catalog.loaders import LC_SUFFIX, OBJ_SUFFIX, is_sidecar
from explorer.errors import CatalogError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
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
    """Resolve a user-typed path; CatalogError unless it is inside an allowed root and exists there.

    The allowed-folder check comes first, on the path with its links resolved, and its refusal is the
    same whether the target exists, is a folder or cannot be read: the served app must not tell a
    stranger which files exist outside the allowed folders. A null byte is refused as text.
    """
    text = os.fspath(path) if isinstance(path, os.PathLike) else str(path)
    if "\0" in text:
        raise CatalogError("catalog path contains a null byte: type a plain path inside the allowed folders")
    raw = Path(text).expanduser()
    candidates = [raw] if raw.is_absolute() else [Path.cwd() / raw, PROJECT_ROOT / raw]
    roots = allowed_roots()
    inside = []
    for cand in candidates:
        try:
            resolved = cand.resolve()
        except (OSError, RuntimeError):  # a link loop or an unreadable component: not a usable path
            continue
        if any(resolved == root or root in resolved.parents for root in roots):
            inside.append(resolved)
    if not inside:
        raise CatalogError(
            f"catalog path {text!r} is not inside the allowed folders "
            f"({', '.join(str(r) for r in roots)}); add its folder to LCEXPLORER_DATA_DIRS"
        )
    for resolved in inside:
        if resolved.exists():
            return resolved
    raise CatalogError(f"catalog path {text!r} does not exist inside the allowed folders")


