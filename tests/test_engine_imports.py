"""The engine's imports run one way: no module of explorer.engine (or explorer.store) imports itself through a cycle.

Two checks: a static import graph over every import statement of the engine and the store, those
inside functions included (a lazy import back up the layers is a cycle too), must be acyclic; and
every engine module imports on its own in a fresh interpreter (a cycle that only bites in one import
order shows up as a partially initialised module there).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "explorer" / "engine"


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {module_name(p): p for p in sorted(ENGINE.glob("*.py"))}
    # the layer below the engine: the store and the data-only family registry with its tensor specs
    for below in ("store", "families", "tensorspec"):
        found[f"explorer.{below}"] = ROOT / "explorer" / f"{below}.py"
    return found


def import_graph() -> dict[str, set[str]]:
    """Edges module -> modules it imports (anywhere in its body), restricted to the engine and the store."""
    mods = modules()
    graph = {m: set() for m in mods}
    for name, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # "from explorer.engine import runner" imports the submodule runner
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in mods else node.module
                           for a in node.names]
            for t in targets:
                if t in mods and t != name:
                    graph[name].add(t)
    # explorer.engine.models imports every family module named by the registry (importlib)
    from explorer.families import FAMILIES

    graph["explorer.engine.models"] |= {f.module for f in FAMILIES.values()}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                return stack[stack.index(n):] + [n]
            if n not in state:
                found = visit(n)
                if found:
                    return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def test_find_cycle_sees_a_cycle():
    """The checker itself: a cycle through a lazy import is reported, a chain is not."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_engine_import_graph_is_acyclic():
    graph = import_graph()
    assert len(graph) >= 15 and graph["explorer.engine.models"]
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)
    # the layers the architecture names: the registry is data, the store reads only the registry
    assert graph["explorer.families"] == {"explorer.tensorspec"}
    assert graph["explorer.tensorspec"] == set()
    assert graph["explorer.store"] == {"explorer.families"}
    # the old paths are re-exports of the modules below the engine
    assert graph["explorer.engine.families"] == {"explorer.families"}
    assert graph["explorer.engine.spec"] == {"explorer.tensorspec"}


@pytest.mark.parametrize("module", sorted(modules()))
def test_each_engine_module_imports_first(module):
    """Imported first in a fresh interpreter, every module loads (no partially initialised module)."""
    code = f"import {module}, sys; print(sum(1 for m in sys.modules if m.startswith('explorer.')))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]


def test_import_engine_imports_each_module_once_in_dependency_order():
    """``python -X importtime -c 'import explorer.engine...'``: each module finishes once, after what it imports."""
    code = "import explorer.engine.embed, explorer.engine.models, explorer.engine"
    run = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    finished = [line.rsplit("|", 1)[1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")]
    ours = [m for m in finished if m.startswith("explorer.engine") or m in modules()]
    assert len(ours) == len(set(ours)), f"imported twice: {sorted(m for m in ours if ours.count(m) > 1)}"
    graph = import_graph()
    position = {m: i for i, m in enumerate(ours)}
    for m in ours:
        for dep in graph.get(m, ()):
            if dep in position:
                assert position[dep] < position[m], f"{m} finished before its import {dep}"
