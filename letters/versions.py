"""Letter template versions: a campaign pins the version its DPO approved, so a later wording change
never alters letters already approved (or a re-run of their print batch)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TemplateVersion:
    code: str
    template: str  # Django template, rendered with the language-specific body it includes
    stylesheet: str  # path under static/ (served by the safe URL fetcher)
    summary: str


TEMPLATE_VERSIONS: dict[str, TemplateVersion] = {
    "2026-11-v1": TemplateVersion(
        code="2026-11-v1",
        template="letters/v1/letter.html",
        stylesheet="letters/v1/letter.css",
        summary="Première version : 7 blocs, fenêtre d'adresse NF Z 10-011, français et anglais.",
    ),
}

CURRENT_TEMPLATE_VERSION = "2026-11-v1"

LANGUAGES = ("fr", "en")


def template_version(code: str | None) -> TemplateVersion:
    """The version `code` (the current one when None); a clear ValueError for an unknown code."""
    code = code or CURRENT_TEMPLATE_VERSION
    try:
        return TEMPLATE_VERSIONS[code]
    except KeyError:
        known = ", ".join(sorted(TEMPLATE_VERSIONS))
        raise ValueError(f"Version de modèle de lettre inconnue : {code!r} (connues : {known})") from None
