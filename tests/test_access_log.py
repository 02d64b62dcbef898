"""gunicorn's access log never holds what staff typed in an admin search (names, birth dates, emails)."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

from gunicorn.config import Config

from config.gunicorn_logging import REDACTED, RedactingLogger

ROOT = Path(__file__).resolve().parent.parent
SEARCH = "q=DUPONT+Jeanne+1970-05-17+jeanne.dupont%40mail.example"


def _access_line(path: str, query: str, referer: str = "-") -> str:
    cfg = Config()
    logger = RedactingLogger(cfg)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"{path}?{query}" if query else path,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
        "HTTP_REFERER": referer,
        "HTTP_USER_AGENT": "test",
    }
    response = SimpleNamespace(status="200 OK", sent=10, headers=[])
    request = SimpleNamespace(headers=[("REFERER", referer)])
    # what Logger.access() writes, with gunicorn's default (combined) format: request line and Referer
    atoms = logger.atoms_wrapper_class(logger.atoms(response, request, environ, dt.timedelta(milliseconds=5)))
    return cfg.access_log_format % atoms


def test_the_query_string_of_an_admin_search_is_redacted():
    line = _access_line("/admin/patients/patient/", SEARCH)
    assert "DUPONT" not in line and "1970" not in line and "mail.example" not in line
    assert f'"GET /admin/patients/patient/?{REDACTED} HTTP/1.1" 200' in line


def test_an_admin_search_in_the_referer_of_the_next_request_is_redacted_too():
    line = _access_line(
        "/admin/patients/patient/42/change/", "", f"https://notifier.example.fr/admin/patients/patient/?{SEARCH}"
    )
    assert "DUPONT" not in line
    assert f'"https://notifier.example.fr/admin/patients/patient/?{REDACTED}"' in line


def test_query_strings_outside_the_admin_are_kept():
    line = _access_line("/cnil/", "tri=echeance&ordre=desc", "https://notifier.example.fr/cnil/?tri=labo")
    assert '"GET /cnil/?tri=echeance&ordre=desc HTTP/1.1"' in line
    assert "https://notifier.example.fr/cnil/?tri=labo" in line


def test_an_admin_path_without_a_query_string_is_logged_as_it_is():
    assert '"GET /admin/ HTTP/1.1"' in _access_line("/admin/", "")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_gunicorn_started_with_the_project_configuration_redacts_admin_searches(tmp_path):
    # given gunicorn as the image starts it (gunicorn.conf.py), on a free local port
    port = _free_port()
    env = {
        **os.environ,
        "NOTIFIER_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    log = tmp_path / "gunicorn.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "--config", "gunicorn.conf.py",
             "--bind", f"127.0.0.1:{port}", "--workers", "1"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            # when staff search the patients by name, birth date and email
            for _ in range(100):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/patients/patient/?{SEARCH}", timeout=5)
                    break
                except urllib.error.HTTPError:
                    break  # answered (the log-in redirect or an error page): logged either way
                except OSError:
                    time.sleep(0.1)
            time.sleep(0.3)
        finally:
            server.terminate()
            server.wait(timeout=10)
    # then the access log has the request, without what was searched
    text = log.read_text()
    assert f"GET /admin/patients/patient/?{REDACTED} HTTP/1.1" in text, text
    assert "DUPONT" not in text and "mail.example" not in text
