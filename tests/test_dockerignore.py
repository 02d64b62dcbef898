"""What `COPY . .` puts in the image: never what .gitignore keeps out of the repository (secrets, personal data)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def patterns(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def _regex(pattern: str) -> re.Pattern[str]:
    """Docker's .dockerignore syntax: anchored at the context root, `*` within a folder, `**/` any folders."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def docker_excludes(path: str) -> bool:
    """True when .dockerignore keeps `path` out of the build context (the last matching line wins)."""
    parents = [str(Path(*Path(path).parts[: n + 1])) for n in range(len(Path(path).parts))]
    excluded = False
    for line in patterns(ROOT / ".dockerignore"):
        negated = line.startswith("!")
        regex = _regex(line.lstrip("!").strip("/"))
        if any(regex.fullmatch(candidate) for candidate in parents):
            excluded = not negated
    return excluded


def samples(gitignore_entry: str) -> list[str]:
    """Paths a .gitignore entry matches, at the root and in a sub-folder (gitignore matches at any depth)."""
    name = gitignore_entry.rstrip("/").replace("*", "sample")
    inner = f"{name}/inner.csv" if gitignore_entry.endswith("/") else name
    return [inner, f"labs/{inner}"]


@pytest.mark.parametrize("entry", [".env", "var/", "*.sqlite3", "test-artifacts/"])
def test_gitignored_secrets_and_personal_data_never_reach_the_image(entry):
    # given an entry .gitignore holds back because it may contain secrets or patients' data
    assert entry in patterns(ROOT / ".gitignore")
    # then .dockerignore holds it back too
    for path in samples(entry):
        assert docker_excludes(path), path


@pytest.mark.parametrize(
    "path",
    [".env", ".env.production", "var/rejects/demo-2021-3f2a.csv", "var/notifier.sqlite3", "var/outbox/1.log",
     "var/print/campaign-1/batch-1.pdf", "var/bench/leak-491839-2021.csv", "test-artifacts/screenshots/a.png",
     ".git/config", ".venv/bin/python", "notifier/__pycache__/x.cpython-311.pyc"],
)  # fmt: skip
def test_known_local_files_stay_out_of_the_image(path):
    assert docker_excludes(path)


def test_every_gitignore_entry_is_excluded_from_the_image():
    # a new .gitignore line (a new cache, a new output folder) needs its .dockerignore twin
    missing = [entry for entry in patterns(ROOT / ".gitignore") if not all(map(docker_excludes, samples(entry)))]
    assert not missing, f".dockerignore lacks {missing}"


@pytest.mark.parametrize(
    "path",
    ["manage.py", "requirements.txt", "config/settings.py", "notifier/tasks.py", "templates/emails/x.txt",
     "static/letters/fonts/x.ttf", "labs/locale/en/LC_MESSAGES/django.po", "letters/render.py"],
)  # fmt: skip
def test_the_image_still_gets_the_code_templates_and_static_files(path):
    assert not docker_excludes(path)
