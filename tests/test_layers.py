"""The layers the code keeps, read from its imports: schemas < matching, benchmarks < pipelines < flows.

A lower layer never imports a higher one (the CLI's lazy import of ``flows`` is the one allowed
exception), matching and benchmarks never import each other, no two modules import each other,
and everything the ingest can import lies in the packages its cache key hashes.
"""

from __future__ import annotations

import ast
from pathlib import Path

from pipelines.ingest.cache import INGEST_PACKAGES, LINK_PACKAGES

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {"schemas": 0, "matching": 1, "benchmarks": 1, "pipelines": 2, "flows": 3}
ALLOWED = {("pipelines.cli", "flows")}


def _modules() -> dict[str, Path]:
    found = {"flows": ROOT / "flows.py"}
    for package in ("schemas", "matching", "benchmarks", "pipelines"):
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _ours(name: str) -> str | None:
    """The module of ours that an import names (a name imported from a package counts as the package)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    """Modules of ours that ``module`` imports, at the top or inside functions."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {m for n in names if (m := _ours(n)) and m != module}


def test_no_layer_imports_a_higher_one() -> None:
    wrong = []
    for module in MODULES:
        layer = LAYERS[module.split(".")[0]]
        for target in imports_of(module):
            top, own = target.split(".")[0], module.split(".")[0]
            if (module, target) in ALLOWED:
                continue
            if LAYERS[top] > layer or (LAYERS[top] == layer and top != own):
                wrong.append(f"{module} -> {target}")
    assert not wrong, wrong


def test_the_bottom_layer_imports_only_itself() -> None:
    for module in (m for m in MODULES if m.startswith("schemas")):
        assert all(t.startswith("schemas") for t in imports_of(module)), module


def test_no_import_cycles() -> None:
    graph = {m: imports_of(m) - {m} for m in MODULES}
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, path: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if nxt.startswith(node + ".") or node.startswith(nxt + "."):
                continue  # a package and its own modules
            if state.get(nxt) == 1:
                cycle.extend(path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt])
                return True
            if nxt not in state and visit(nxt, path + [nxt]):
                return True
        state[node] = 2
        return False

    for module in sorted(graph):
        if module not in state and visit(module, [module]):
            break
    assert not cycle, " -> ".join(cycle)


def _reach(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(imports_of(module))
    return seen


def test_the_ingest_cache_key_covers_all_that_ingest_imports() -> None:
    roots = [m for m in MODULES if m.startswith("pipelines.ingest.") and not m.endswith(".cache")]
    reached = set().union(*(_reach(m) for m in roots))
    outside = sorted(m for m in reached if not MODULES[m].relative_to(ROOT).as_posix().startswith(INGEST_PACKAGES))
    assert not outside, outside


def test_the_link_key_covers_all_that_matching_imports() -> None:
    reached = set().union(*(_reach(m) for m in MODULES if m.startswith("matching")))
    outside = sorted(m for m in reached if not MODULES[m].relative_to(ROOT).as_posix().startswith(LINK_PACKAGES))
    assert not outside, outside
