"""The folders are the layers: constants < data < model < solve < analysis < report < simulate < ipacs < history < the
public face (api, cli, generate). A module never imports one of a higher layer, nor the
package's own modules from inside a function (a deferred import hides a layering), and the
modules' imports have no circle."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "optimiser"
LAYERS = ["constants", "data", "model", "solve", "analysis", "report", "simulate", "ipacs", "history"]
TOP = len(LAYERS)  # api, cli, generate, __init__, __main__


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    parts = module.split(".")
    if len(parts) < 2:
        return TOP
    return LAYERS.index(parts[1]) if parts[1] in LAYERS else TOP


def imports_of(path: Path) -> list[tuple[str, bool]]:
    """(imported optimiser module, at module level?) for every import in the file."""
    tree = ast.parse(path.read_text())
    top_level = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("optimiser"):
            found.append((node.module, id(node) in top_level))
        elif isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top_level) for alias in node.names if alias.name.startswith("optimiser")]
    return found


MODULES = {module_name(path): imports_of(path) for path in sorted(PACKAGE.rglob("*.py"))}


def test_every_module_is_in_a_layer_folder_or_is_one_of_a_handful_at_the_top():
    top = sorted(module for module in MODULES if layer_of(module) == TOP and module != "optimiser")
    assert top == ["optimiser.__main__", "optimiser.api", "optimiser.cli", "optimiser.generate"]


def upward(modules: dict) -> list[str]:
    return [
        f"{module} imports {imported}"
        for module, imports in modules.items()
        for imported, _ in imports
        if layer_of(imported) > layer_of(module)
    ]


def deferred(modules: dict) -> list[str]:
    return [
        f"{module} imports {imported} inside a function"
        for module, imports in modules.items()
        for imported, top in imports
        if not top
    ]


def test_no_module_imports_a_higher_layer():
    assert upward(MODULES) == []


def test_no_deferred_imports_of_the_package():
    assert deferred(MODULES) == []


def test_no_import_circle():
    graph = {module: {imported for imported, _ in imports if imported in MODULES} for module, imports in MODULES.items()}
    graph = {module: {i for i in imported if i != "optimiser"} for module, imported in graph.items()}
    state: dict[str, int] = {}
    circles = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for imported in sorted(graph.get(module, ())):
            if state.get(imported) == 1:
                circles.append(" -> ".join(path[path.index(imported) :] + [imported]) if imported in path else imported)
            elif imported not in state:
                visit(imported, path + [imported])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert circles == []


def test_the_checks_see_an_upward_or_deferred_import(tmp_path):
    """Not vacuous: a model module importing the solve layer, inside a function, is caught twice."""
    source = tmp_path / "bad.py"
    source.write_text("import numpy\n\ndef f():\n    from optimiser.solve.highs import solve_lp\n")
    modules = {"optimiser.model.bad": imports_of(source)}
    assert upward(modules) == ["optimiser.model.bad imports optimiser.solve.highs"]
    assert deferred(modules) == ["optimiser.model.bad imports optimiser.solve.highs inside a function"]
