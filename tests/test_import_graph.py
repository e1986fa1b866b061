"""The package's import graph, read from the source (every import statement, at any depth).

Imports inside functions and under ``if TYPE_CHECKING:`` count too: a loop
a reader has to untangle is a loop, whenever Python happens to run it.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "hugelab"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_in(source: str, name: str, is_package: bool = False) -> set[str]:
    """The package's modules that module ``name`` (whose text is ``source``) imports."""
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            # `from . import scenarios` names a module; `from .model import Model` does not
            targets = [f"{origin}.{a.name}" if f"{origin}.{a.name}" in MODULES else origin for a in node.names]
        else:
            continue
        found.update(t for t in targets if t in MODULES and t != name)
    return found


GRAPH = {name: imports_in(path.read_text(encoding="utf-8"), name, path.name == "__init__.py")
         for name, path in MODULES.items()}


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module that importing ``start`` imports, directly or not."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        for target in graph[todo.pop()] - seen:
            seen.add(target)
            todo.append(target)
    return seen


def test_the_graph_is_read_from_every_module():
    assert {"hugelab", "hugelab.cli", "hugelab.model.machine", "hugelab.model.policies.base",
            "hugelab.realkernel.machine"} <= set(GRAPH)
    assert "hugelab.tools.tables" in GRAPH["hugelab.teaching.notebook"]  # a relative import, resolved
    assert "hugelab.scenarios" in GRAPH["hugelab.cli"]  # `from . import scenarios`
    assert "hugelab.realkernel" in GRAPH["hugelab.cli"]  # an import inside a function


def test_type_checking_and_lazy_imports_are_edges():
    source = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..machine import Model\n"
              "def f():\n    import hugelab.trace.language\n")
    assert imports_in(source, "hugelab.model.policies.base") == {"hugelab.model.machine", "hugelab.trace.language"}


def test_a_loop_is_found():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert [m for m in sorted(graph) if m in reachable(graph, m)] == ["a", "b", "c"]


def test_only_main_imports_the_command_line():
    importers = sorted(name for name, targets in GRAPH.items() if "hugelab.cli" in targets)
    assert importers == ["hugelab.__main__"]


def test_nothing_under_policies_reaches_the_model():
    policies = [name for name in GRAPH if name.startswith("hugelab.model.policies")]
    assert len(policies) >= 5
    for name in policies:
        assert "hugelab.model.machine" not in reachable(GRAPH, name), \
            f"{name} imports hugelab.model.machine, perhaps indirectly"


def test_the_import_graph_has_no_loop():
    loops = sorted(name for name in GRAPH if name in reachable(GRAPH, name))
    assert loops == [], f"modules on an import loop: {loops}"


# The layers, lowest first. A module may import its own layer and the layers below it, never one
# above: the model knows nothing of real kernels, the course or widgets; the real kernels nothing
# of the course; widgets only translate what the course's logic computes.
LAYERS = [
    ("base", ["hugelab.limits", "hugelab.interrupts", "hugelab.ownfiles", "hugelab.scenarios", "hugelab.recorded"]),
    ("trace language", ["hugelab.trace"]),
    ("model", ["hugelab.model"]),
    ("driver", ["hugelab.replay", "hugelab"]),
    ("real kernels", ["hugelab.realkernel"]),
    ("tools", ["hugelab.tools"]),
    ("course", ["hugelab.teaching"]),
    ("widgets", ["hugelab.widgets"]),
    ("command line and app", ["hugelab.cli", "hugelab.__main__", "hugelab.app"]),
]


def layer_of(module: str) -> int:
    """The index of the layer ``module`` belongs to (the longest prefix that names it)."""
    best, found = -1, None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, found = len(prefix), index
    assert found is not None, f"{module} belongs to no layer: add it to LAYERS"
    return found


def test_every_module_has_a_layer():
    for name in GRAPH:
        layer_of(name)


def test_no_module_imports_a_layer_above_its_own():
    upward = sorted(f"{name} ({LAYERS[layer_of(name)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
                    for name, targets in GRAPH.items() for target in targets
                    if layer_of(target) > layer_of(name))
    assert upward == []


def test_the_layers_are_folders():
    """Each layer above the base is one folder (or the top-level driver and command line)."""
    for _, prefixes in LAYERS[1:]:
        for prefix in prefixes:
            assert prefix in GRAPH, f"{prefix} is not a module or package"


def test_an_upward_import_is_found():
    graph = {"hugelab.model.vma": {"hugelab.widgets.charts"}}
    assert [(n, t) for n, ts in graph.items() for t in ts if layer_of(t) > layer_of(n)] == \
        [("hugelab.model.vma", "hugelab.widgets.charts")]
