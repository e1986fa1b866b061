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


def imports_of(name: str) -> set[str]:
    """The package's modules that ``name`` imports, by any import statement."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
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


GRAPH = {name: imports_of(name) for name in MODULES}


def test_the_graph_is_read_from_every_module():
    assert {"hugelab", "hugelab.cli", "hugelab.model", "hugelab.policies.base", "hugelab.kernel.machine"} <= set(GRAPH)
    assert "hugelab.tables" in GRAPH["hugelab.notebook"]  # a relative import, resolved
    assert "hugelab.scenarios" in GRAPH["hugelab.cli"]  # `from . import scenarios`


def test_only_main_imports_the_command_line():
    importers = sorted(name for name, targets in GRAPH.items() if "hugelab.cli" in targets)
    assert importers == ["hugelab.__main__"]
