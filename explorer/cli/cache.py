"""``lcexplorer cache``: sizes of the caches under the store root, trimming to the cap, clearing."""

from __future__ import annotations

import argparse

__all__ = ["register"]


def _human(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def register(subparsers) -> None:
    """Add the ``cache`` command (info / trim / clear) to the console script."""
    from explorer.diskcache import CACHE_FOLDERS

    parser = subparsers.add_parser("cache", help="cache sizes, trimming to the size cap, clearing")
    sub = parser.add_subparsers(dest="cache_command", required=True)
    info = sub.add_parser("info", help="files and bytes per cache folder, and the size cap")
    info.set_defaults(func=_info)
    trim = sub.add_parser("trim", help="evict least-recently-used files until the caches are under the cap")
    trim.add_argument("--max-bytes", help="cap to apply now (e.g. 2G); default: $LCEXPLORER_CACHE_MAX_BYTES or 5G")
    trim.set_defaults(func=_trim)
    clear = sub.add_parser("clear", help="remove cached files (recomputed when needed); models and labels stay")
    clear.add_argument("--what", choices=(*CACHE_FOLDERS, "all"), default="all", help="which cache (default: all)")
    clear.set_defaults(func=_clear)


def _cap_text(cap) -> str:
    from explorer.diskcache import ENV_MAX_BYTES

    return "no cap" if cap is None else f"cap {_human(cap)} (${ENV_MAX_BYTES} to change)"


def _info(args: argparse.Namespace) -> int:
    from explorer.diskcache import cache_info, cache_max_bytes
    from explorer.store import store_root

    info = cache_info()
    width = max(len(n) for n in info)
    print(f"caches under {store_root()}:")
    for name, item in info.items():
        print(f"  {name.ljust(width)}  {item.n_files:>7} files  {_human(item.n_bytes):>10}")
    total = sum(i.n_bytes for i in info.values())
    print(f"  {'total'.ljust(width)}  {sum(i.n_files for i in info.values()):>7} files  {_human(total):>10}"
          f"  ({_cap_text(cache_max_bytes())})")
    return 0


def _trim(args: argparse.Namespace) -> int:
    from explorer.diskcache import enforce_cap, parse_size
    from explorer.errors import ExplorerError

    cap = None
    if args.max_bytes is not None:
        try:
            cap = parse_size(args.max_bytes)
        except ValueError as exc:
            raise ExplorerError(f"--max-bytes: {exc}") from None
        if cap is None:
            print("no cap given: nothing to trim")
            return 0
    report = enforce_cap(cap)
    print(f"removed {len(report.removed)} file(s), {_human(report.bytes_freed)}; caches now {_human(report.bytes_after)} "
          f"({_cap_text(report.max_bytes)})")
    if report.over_cap:
        print(f"  still over the cap: {report.kept_recent} file(s) in use right now were kept")
    return 0


def _clear(args: argparse.Namespace) -> int:
    from explorer.diskcache import clear_cache

    n_files, n_bytes = clear_cache(args.what)
    print(f"removed {n_files} file(s), {_human(n_bytes)} from {'all caches' if args.what == 'all' else args.what}")
    return 0
