"""Imports run one way (web -> wbl -> solver); solver/ uses only the stdlib and the solvers."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _imports(package: str) -> dict[str, set[str]]:
    """Top-level module names each file of ``package`` imports (absolute imports only)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


def test_layers_solver_imports_only_stdlib_and_the_solvers() -> None:
    allowed = set(sys.stdlib_module_names) | {"ortools", "highspy", "numpy", "solver", "__future__"}
    bad = {f: sorted(n - allowed) for f, n in _imports("solver").items() if n - allowed}
    assert bad == {}


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [("wbl", {"flask", "flask_login", "flask_wtf", "werkzeug", "web"}), ("solver", {"wbl", "web"})],
)
def test_layers_no_upward_imports(package: str, forbidden: set[str]) -> None:
    bad = {f: sorted(n & forbidden) for f, n in _imports(package).items() if n & forbidden}
    assert bad == {}


def test_layers_checker_sees_imports() -> None:
    """Guard against a checker that passes because it finds nothing."""
    assert "sqlalchemy" in _imports("wbl")["wbl/models.py"]
    assert "flask" in _imports("web")["web/__init__.py"]
