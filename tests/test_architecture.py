"""The architecture holds: import-linter's contracts (.importlinter) and the size of each app module.

Contracts: the apps layer one way (labs ← patients ← letters ← notifier ← {status_page, dashboards, call_centre}
← evidence),
no app imports the wiring package `config`, and no two modules of an app import each other, even
through a third or from inside a function.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = ("labs", "patients", "letters", "notifier", "status_page", "dashboards", "call_centre", "evidence")
LONGEST_MODULE = 800


def test_the_import_contracts_hold():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "3 kept, 0 broken" in result.stdout


def test_the_contracts_cover_every_app():
    config = (ROOT / ".importlinter").read_text()
    for app in (*APPS, "config"):
        assert f"    {app}\n" in config, app


def test_no_app_module_is_longer_than_a_newcomer_can_read():
    lengths = {
        str(path.relative_to(ROOT)): len(path.read_text().splitlines())
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
    }
    assert len(lengths) > 40
    assert {path: n for path, n in lengths.items() if n > LONGEST_MODULE} == {}
