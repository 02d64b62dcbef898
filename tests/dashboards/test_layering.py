"""The dashboards read every app; no app below them may import them back (README, "Layout")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOWER_APPS = ("labs", "patients", "letters", "notifier")


def _imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


@pytest.mark.parametrize("app", LOWER_APPS)
def test_no_module_of_a_lower_app_imports_the_dashboards(app):
    # given every Python module of the app, migrations and commands included
    offenders = [
        f"{path.relative_to(ROOT)}: {module}"
        for path in sorted((ROOT / app).rglob("*.py"))
        for module in _imported_modules(path)
        if module == "dashboards" or module.startswith("dashboards.")
    ]
    # then none of them imports dashboards (a string in include("dashboards.urls") is not an import)
    assert offenders == []
