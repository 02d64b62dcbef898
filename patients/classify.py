"""Classify a leaked free-text comment into sensitive classes, so that the text itself can be discarded.

French and English, case- and accent-insensitive. The patterns are stems matched at word starts
("chimio" covers chimiothérapie), written to avoid everyday words ("sa" alone is a possessive, so a
pregnancy term needs a number of weeks before "SA"). Any other non-empty comment is `other_medical`:
a leaked comment is health data even when it names no condition.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .categories import Sensitive
from .normalize import accentless_lower

_PATTERNS: dict[Sensitive, str] = {
    Sensitive.PREGNANCY: r"""
        grossesse | enceinte | \d{1,2}\s*sa\b | amenorrhee | gestation | prenatal | obstetri
        | pregnan | accouchement | (?:post|pre)\s*-?\s*partum | fausse\s+couche | \bivg\b | miscarriage
    """,
    Sensitive.HIV: r"""
        \bvih\b | \bhiv\b | seropositi | \bsida\b | \baids\b | antiretrovira | tritherapie
    """,
    Sensitive.CANCER: r"""
        cancer | tumeur | tumor | chimio | chemo | oncolog | radiother | carcinom | lymphom | leucemi
        | leukemi | leukaemi | metasta | melanom | sarcom | myelom | neoplas
    """,
    Sensitive.DISABILITY: r"""
        \bsourd(?:e|s|es)?\b | \bdeaf | aveugle | \bblind | malentendant | mal\s*-?\s*entendant | malvoyant
        | mal\s*-?\s*voyant | handicap | disabilit | disabled | fauteuil\s+roulant | wheelchair | \bmuet
        | \bmute\b | invalidite
    """,
    Sensitive.MENTAL_HEALTH: r"""
        psychiatr | depressi | schizophr | bipolaire | bipolar | \bpsychose | \bpsychosis | psychotique
        | psychotic | suicid | anorexi | boulimi | bulimi | troubles?\s+anxieux | anxiety\s+disorder
        | \bmental | autism | autiste
    """,
    Sensitive.GENETIC: r"""
        genetique | genetic | mucoviscidose | cystic\s+fibrosis | drepanocyto | sickle\s+cell | trisomi
        | down\s+syndrome | hemophili | haemophili | thalassemi | myopathi | huntington | hereditaire
        | hereditary
    """,
    Sensitive.ADDICTION: r"""
        sevrage | alcoolique | alcoolisme | alcoholi | toxicoman | substitution | methadone | subutex
        | buprenorphin | addict | drogue | heroine | heroin\b | cocaine | cannabis | opiace | opioid
    """,
}

_COMPILED = [(flag, re.compile(pattern, re.VERBOSE)) for flag, pattern in _PATTERNS.items()]


@lru_cache(maxsize=20_000)
def classify_comment(text: str) -> int:
    """Sensitive bit mask of one comment: 0 when empty, else its classes or `other_medical`."""
    if not text or text.isspace():
        return 0
    folded = accentless_lower(text)
    mask = 0
    for flag, pattern in _COMPILED:
        if pattern.search(folded):
            mask |= flag
    return mask or int(Sensitive.OTHER_MEDICAL)


def classify_comments(texts: list[str] | tuple[str, ...]) -> int:
    """Union over several comment fields of one record (each field is its own comment)."""
    mask = 0
    for text in texts:
        if text:
            mask |= classify_comment(text)
    return mask
