"""The import graph and module sizes of exporter/ (issue 16).

`layer_violations` and `package_cycles` check a graph of package-level imports
against the layer order of docs/architecture.md; the fake-graph tests prove they
catch an upward import and a cycle, and the real tree is held to both.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "exporter"

# Layer order: a package may import only itself or packages earlier in the list.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("records", "catalogue", "logs"),
    ("ingest",),
    ("config",),
    ("store",),
    ("counting",),
    ("metrics",),
    ("okta",),
    ("web",),
    ("cli", "__main__"),
)

MAX_LINES = 400


def rank(package: str) -> int:
    for index, layer in enumerate(LAYERS):
        if package in layer:
            return index
    raise KeyError(package)


def layer_violations(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Edges (importer, imported) where a package imports a later layer."""
    return sorted(
        (src, dst) for src, dsts in graph.items() for dst in dsts if rank(dst) > rank(src)
    )


def package_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Cycles between distinct packages, found by depth-first search."""
    cycles: list[list[str]] = []
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            cycles.append([*path[path.index(node) :], node])
            return
        if node in done:
            return
        for nxt in sorted(graph.get(node, set()) - {node}):
            visit(nxt, [*path, node])
        done.add(node)

    for node in sorted(graph):
        visit(node, [])
    return cycles


def imports_of(path: Path) -> set[str]:
    """Top-level exporter packages/modules that the file imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "exporter" and node.level == 0:
            names = [f"exporter.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "exporter" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_checker_flags_an_upward_import() -> None:
    """A store module importing web is reported; downward imports are not."""
    graph = {"store": {"web", "records"}, "web": {"store"}}
    assert layer_violations(graph) == [("store", "web")]


def test_checker_flags_a_cycle_between_packages() -> None:
    """config -> okta -> config is a cycle; an acyclic graph has none."""
    assert package_cycles({"config": {"okta"}, "okta": {"config"}})
    assert package_cycles({"web": {"okta"}, "okta": {"config"}, "config": set()}) == []


def test_imports_are_read_from_source(tmp_path: Path) -> None:
    """Absolute imports of exporter modules are collected by package."""
    module = tmp_path / "m.py"
    module.write_text("import exporter.store.base\nfrom exporter.okta import auth\nimport os\n")
    assert imports_of(module) == {"store", "okta"}


def test_no_module_is_over_the_size_limit() -> None:
    """Every module under exporter/ stays under MAX_LINES: split by concern past that."""
    oversize = {
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*.py")
        if len(path.read_text().splitlines()) > MAX_LINES
    }
    assert not oversize, oversize


def package_graph() -> dict[str, set[str]]:
    """Package-level imports of the real tree (a top-level module is its own package)."""
    graph: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        package = path.relative_to(ROOT).parts[0].removesuffix(".py")
        if package == "__init__":
            continue  # the package's own docstring and version
        graph.setdefault(package, set()).update(imports_of(path) - {"__version__"})
    return graph


def test_the_tree_imports_only_downward() -> None:
    """No package imports a later layer, and every package has its place in LAYERS."""
    graph = package_graph()
    assert {p for p in graph if all(p not in layer for layer in LAYERS)} == set()
    assert layer_violations(graph) == []


def test_the_tree_has_no_package_cycles() -> None:
    assert package_cycles(package_graph()) == []
