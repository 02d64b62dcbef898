"""French typography for letters and emails: non-breaking spaces, « du Laboratoire », « 1er », phone numbers.

Elderly readers get letters where « : » never starts a line and a phone number reads as it is dialled
(« 02 99 11 22 33 »). Each rule is a small pure function, used by `letters.content` (the letter's data),
the letter and email templates (filter `french_spacing` of `letters.templatetags.typography`) and
`letters.emails`.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

import phonenumbers
from django.utils import translation
from django.utils.formats import date_format

NBSP = "\u00a0"

# A space (or none) before the high punctuation and the closing guillemet, after the opening one. Only
# existing spaces become non-breaking before « : », so "https://" and "10:30" are left alone.
_BEFORE_COLON = re.compile(r"[ \t]+:")
_BEFORE_HIGH = re.compile(r"(?<=[^\s\u00a0])[ \t]*([;!?»])")
_AFTER_OPENING = re.compile(r"«[ \t]*(?=\S)")
_URL = re.compile(r"\b(?:https?://|www\.)\S+")


def french_spacing(text: str) -> str:
    """`text` with a non-breaking space before « : ; ! ? » and inside « », as French typesetting asks.

    Addresses (`https://…?x=1`) are left as they are: a space inside a web address would break it.
    """
    if not text:
        return text
    out, last = [], 0
    for url in _URL.finditer(text):
        out.append(_spaced(text[last : url.start()]))
        out.append(url.group())
        last = url.end()
    out.append(_spaced(text[last:]))
    return "".join(out)


def _spaced(text: str) -> str:
    text = _BEFORE_COLON.sub(NBSP + ":", text)
    text = _BEFORE_HIGH.sub(lambda m: NBSP + m.group(1), text)
    return _AFTER_OPENING.sub("«" + NBSP, text)


# « Ce courrier vient du Laboratoire… »: the article the first word of a laboratory's name takes.
_MASCULINE = frozenset((
    "laboratoire", "laboratoires", "labo", "centre", "cabinet", "groupe", "groupement", "pole", "service", "reseau",
    "site", "plateau", "departement",
))  # fmt: skip
_FEMININE = frozenset(["clinique", "polyclinique", "societe", "maison", "plateforme", "selarl", "selas", "federation"])
_LEADING_ARTICLE = re.compile(r"^(?:(le|la|les)\s+|(l)['’]\s*)(?=\S)", re.IGNORECASE)
_ELIDED = re.compile(r"^[aeiouyh]", re.IGNORECASE)


def _plain(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word)
    return decomposed.encode("ascii", "ignore").decode("ascii").lower()


def of_name(name: str) -> str:
    """« du Laboratoire X », « de la Clinique Y », « de l'Institut Z », « de Biolab », « d'Aqualab »."""
    name = " ".join(name.split())
    if not name:
        return name
    article = _LEADING_ARTICLE.match(name)
    if article:
        rest = name[article.end() :]
        word = _plain(article.group(1) or "")
        return {"le": "du ", "la": "de la ", "les": "des "}.get(word, "de l'") + rest
    first = _plain(re.split(r"[\s\-'’]", name, maxsplit=1)[0])
    starts_with_vowel = bool(_ELIDED.match(first))
    if first in _MASCULINE:
        return ("de l'" if starts_with_vowel else "des " if first.endswith("s") else "du ") + name
    if first in _FEMININE:
        return ("de l'" if starts_with_vowel else "de la ") + name
    if first in ("institut", "hopital", "etablissement", "unite", "ensemble"):
        return "de l'" + name
    return ("d'" if starts_with_vowel else "de ") + name


def long_date(day: dt.date | None, language: str) -> str:
    """« 1er décembre 2026 », « 22 novembre 2026 »; "1 December 2026" in English; '' for None."""
    if day is None:
        return ""
    with translation.override(language):
        text = date_format(day, "j F Y")
    if language == "fr" and day.day == 1:
        return "1er" + text[1:]
    return text


def phone_display(number: str, language: str = "fr") -> str:
    """A phone number as people read it: « 02 99 11 22 33 » in French, "+33 2 99 11 22 33" in English.

    Foreign numbers keep their international form; text that is not a phone number is returned as typed.
    """
    number = " ".join(str(number or "").split())
    if not number:
        return ""
    try:
        parsed = phonenumbers.parse(number, "FR")
    except phonenumbers.NumberParseException:
        return number
    if not phonenumbers.is_possible_number(parsed):
        return number
    french = parsed.country_code == 33
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if french and language == "fr"
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    # non-breaking spaces: a number is never split across two lines
    return phonenumbers.format_number(parsed, style).replace(" ", NBSP)
