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


def _is_dangling(path: Path) -> bool:
    """A link whose target does not exist (or cannot be reached)."""
    try:
        return path.is_symlink() and not path.exists()
    except OSError:
        return True


def list_catalogs(notes: list | None = None) -> dict[str, str]:
    """Catalogs found directly inside the allowed roots, as {label: absolute path}, sample catalogs first.

    Entries that cannot be used are skipped; when ``notes`` is a list, a sentence per skipped entry is
    appended to it, naming the entry by its root's name (``data/x.csv``), never by the server's path.
    """
    found: dict[str, str] = {}
    for root in allowed_roots():
        try:
            children = sorted(root.iterdir())
        except OSError as exc:
            if notes is not None:
                notes.append(f"folder {root.name}/ cannot be listed ({exc.strerror or type(exc).__name__}); skipped")
            continue
        for child in children:
            if child.name.startswith("."):
                continue
            if _is_dangling(child):
                if notes is not None and child.suffix.lower() in UPLOAD_SUFFIXES:
                    notes.append(f"{root.name}/{child.name} is a link to nothing; skipped")
                continue
            try:
                usable = _is_catalog(child)
            except OSError as exc:  # unreadable folder, vanished file: skip it, say so
                if notes is not None:
                    notes.append(f"{root.name}/{child.name} cannot be read ({exc.strerror or type(exc).__name__}); "
                                 "skipped")
                continue
            if not usable:
                continue
            shown = child.name[: -len(LC_SUFFIX)] if child.name.endswith(LC_SUFFIX) else child.name
            label = f"{root.name}/{shown}"
            found.setdefault(label, str(child))
    return found


def catalog_stamp(path: Path):
    """What tells a catalog on disk changed: a file's mtime, or a folder's (name, mtime) pairs.

    Label files and sidecars do not count (saving labels is not a change of the catalog); entries that
    cannot be read (a link to nothing, a file removed meanwhile) count as ``(name, None)`` rather than
    raising: the catalog reader skips them and says so in its report.
    """
    path = Path(path)
    if not path.is_dir():
        return path.stat().st_mtime_ns
    stamp = []
    for p in path.iterdir():
        if is_sidecar(p):
            continue
        try:
            stamp.append((p.name, p.stat().st_mtime_ns))
        except OSError:
            stamp.append((p.name, None))
    return tuple(sorted(stamp, key=lambda e: (e[0], e[1] is None, e[1] or 0)))


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


