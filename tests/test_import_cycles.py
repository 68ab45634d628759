"""No import cycle among explorer's modules, lazy imports inside functions included.

A static graph (``ast``, nothing imported) over every ``import`` statement of every module of the
package. A module importing ``a.b.c`` from outside package ``a.b`` also runs ``a/b/__init__.py`` first,
so it gets an edge to the package ``a.b`` too; a module inside ``a.b`` does not (Python initialises the
parent before the child, that is not a cycle). A lazy import back up the layers is a cycle all the same:
it is the arrow that the layering forbids, merely deferred.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "explorer"


def module_name(path: Path) -> str:
    """``explorer/catalog/core.py`` -> ``explorer.catalog.core``; a package's ``__init__`` is the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(name: str, node: ast.ImportFrom, current: str, is_package: bool) -> str | None:
    """The absolute module a ``from ... import`` names (relative imports resolved)."""
    if node.level == 0:
        return node.module
    base = current.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imported_modules(path: Path, name: str, mods: dict[str, Path]) -> set[str]:
    """The package's modules that ``path`` imports anywhere in its body."""
    found: set[str] = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = _resolve(name, node, name, is_package)
            if module is None:
                continue
            # "from explorer.engine import runner" imports the submodule runner
            targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in mods else module for a in node.names]
        for target in targets:
            while target and target not in mods:
                target = target.rpartition(".")[0]
            if not target or target == name:
                continue
            found.add(target)
            # the parents run first: an edge to each package above the target that ``name`` is not inside
            parent = target.rpartition(".")[0]
            while parent and parent != "explorer":
                if not (name == parent or name.startswith(parent + ".")):
                    found.add(parent)
                parent = parent.rpartition(".")[0]
    return found


def registry_modules() -> set[str]:
    """The family modules named in the registry (``module="..."``), read statically."""
    tree = ast.parse((PACKAGE / "families.py").read_text(encoding="utf-8"))
    return {kw.value.value for node in ast.walk(tree) if isinstance(node, ast.Call) for kw in node.keywords
            if kw.arg == "module" and isinstance(kw.value, ast.Constant)}


def import_graph() -> dict[str, set[str]]:
    """Edges module -> modules of the package it imports."""
    mods = all_modules()
    graph = {name: imported_modules(path, name, mods) - {name} for name, path in mods.items()}
    # explorer.engine.models imports every family module of the registry through importlib at import time
    graph["explorer.engine.models"] |= registry_modules()
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        # iterative: a deep package must not hit the recursion limit
        work = [(v, iter(sorted(graph[v])))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        while work:
            node, children = work[-1]
            advanced = False
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    advanced = True
                    break
                if w in on_stack:
                    low[node] = min(low[node], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1:
                    components.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return components


def test_finder_sees_a_cycle():
    """The finder itself: a two-module loop and a three-module loop are found, a chain is not."""
    graph = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c"}, "f": {"g"}, "g": set()}
    assert sorted(find_cycles(graph)) == [["a", "b"], ["c", "d", "e"]]


def test_graph_reads_lazy_and_relative_imports(tmp_path):
    """An import inside a function counts; a relative import is resolved."""
    src = "def f():\n    from explorer.store import store_root\n    from .core import Catalog\n"
    path = PACKAGE / "catalog" / "loaders.py"
    mods = {"explorer.store": None, "explorer.catalog.core": None, "explorer.catalog": None,
            "explorer.catalog.loaders": None}
    fake = tmp_path / "loaders.py"
    fake.write_text(src)
    found = imported_modules(fake, "explorer.catalog.loaders", mods)
    assert found == {"explorer.store", "explorer.catalog.core"}
    assert path.exists()


def test_no_import_cycle_in_explorer():
    """Every import of explorer's modules, lazy ones included, runs one way."""
    graph = import_graph()
    assert len(graph) > 100 and "explorer.engine.astromer" in graph["explorer.engine.models"]
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles among explorer's modules:\n" + "\n".join(" <-> ".join(c) for c in cycles)
