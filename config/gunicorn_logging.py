"""gunicorn's access log without the query strings of /admin/ pages (gunicorn.conf.py: logger_class).

Admin searches are GET requests (`?q=DUPONT 1970-05-17 jeanne@…`): left alone, gunicorn would write the
names, birth dates and emails staff look for into the access log, and again as the Referer of the next
request. Outside /admin/ query strings hold nothing personal (the status page keeps its code out of URLs)
and stay, for debugging.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from gunicorn.glogging import Logger

REDACTED = "[masqué]"
REDACTED_PREFIXES = ("/admin/",)


def _redacted_target(target: str) -> str:
    """A request target or a URL with its query string replaced when its path is under /admin/."""
    parts = urlsplit(target)
    if not parts.query or not parts.path.startswith(REDACTED_PREFIXES):
        return target
    return urlunsplit(parts._replace(query=REDACTED))


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        path = environ.get("PATH_INFO") or ""
        if path.startswith(REDACTED_PREFIXES) and environ.get("QUERY_STRING"):
            method, _, rest = atoms["r"].partition(" ")
            target, _, protocol = rest.rpartition(" ")
            atoms["r"] = f"{method} {_redacted_target(target)} {protocol}"
            atoms["q"] = REDACTED
            for key in ("{raw_uri}e", "{query_string}e", "{request_uri}e"):
                if key in atoms:
                    atoms[key] = REDACTED
        for key in ("f", "{referer}i", "{http_referer}e"):
            if isinstance(atoms.get(key), str):
                atoms[key] = _redacted_target(atoms[key])
        return atoms
