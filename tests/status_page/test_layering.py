"""The status page sits on top of the campaign engine: it may import notifier, letters, patients and labs,
never the other way round (a cycle would tie the engine to one public page)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOWER_APPS = ("labs", "patients", "letters", "notifier")


def _imported_modules(source: Path) -> set[str]:
    tree = ast.parse(source.read_text(), filename=str(source))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_no_lower_app_imports_the_status_page():
    # given every Python module of the apps below the status page
    modules = [path for app in LOWER_APPS for path in (ROOT / app).rglob("*.py")]
    assert modules
    # when their imports are read
    offenders = sorted(
        str(path.relative_to(ROOT))
        for path in modules
        if any(name == "status_page" or name.startswith("status_page.") for name in _imported_modules(path))
    )
    # then none reaches into status_page
    assert offenders == []
