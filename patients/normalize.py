"""Identity normalisers for leaked records: NIR, names, phones, emails, dates.

They run once per leaked row (about half a million rows per file), so each is written for speed: plain
string operations first, the slower libraries (python-stdnum, phonenumbers, Django's email validator)
only where the cheap path cannot decide, and small bounded caches for values that repeat across rows.
None of them raises on bad input: they return an empty/None result that the importer records as a
field problem.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from stdnum.fr import nir as stdnum_nir

MASK = "•"

# --- NIR -------------------------------------------------------------------------------------------

_NIR_NOISE = str.maketrans("", "", " .-_/\t\u00a0")


@dataclass(frozen=True, slots=True)
class Nir:
    compact: str  # 13 or 15 characters once cleaned; kept in memory only, never stored
    valid: bool  # stdnum.fr.nir: format and mod-97 key (2A → 19, 2B → 18)
    masked: str  # what may be displayed, e.g. "2 53 •• •• ••• ••• 03"


def nir_compact(raw: str) -> str:
    """Spaces, dots and dashes removed, Corsican 2a/2b upper-cased: the form used for matching."""
    return raw.translate(_NIR_NOISE).upper()


def nir_mask(compact: str) -> str:
    """Sex, birth year and key stay readable (what a patient recognises); the rest is masked."""
    if len(compact) == 15:
        return f"{compact[0]} {compact[1:3]} {MASK * 2} {MASK * 2} {MASK * 3} {MASK * 3} {compact[13:15]}"
    if len(compact) >= 3:
        return f"{compact[0]} {compact[1:3]} {MASK * 2} {MASK * 2} {MASK * 3} {MASK * 3} {MASK * 2}"
    return MASK * 3


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def nir_valid(compact: str) -> bool:
    """stdnum.fr.nir's validation (format, 2A/2B, mod-97 key) on an already compact NIR.

    Same checks as `stdnum.fr.nir.is_valid`, minus its generic cleaning step, which dominated the
    cost of an import; the key itself is computed by stdnum.
    """
    if len(compact) != 15 or not _ascii_digits(compact[:5]) or not _ascii_digits(compact[7:]):
        return False
    if not _ascii_digits(compact[5:7]) and compact[5:7] not in ("2A", "2B"):
        return False
    return stdnum_nir.calc_check_digits(compact) == compact[13:]


def normalize_nir(raw: str) -> Nir | None:
    """None for an empty value; otherwise the compact form, its validity and a masked form."""
    compact = nir_compact(raw)
    if not compact:
        return None
    return Nir(compact=compact, valid=nir_valid(compact), masked=nir_mask(compact))


# --- names -----------------------------------------------------------------------------------------

_NOT_LETTERS = re.compile(r"[^A-Z]+")


def clean_text(raw: str) -> str:
    """Collapse whitespace (including line breaks of multi-line fields) for display."""
    return " ".join(raw.split())


@lru_cache(maxsize=200_000)
def name_key(raw: str) -> str:
    """Case-, accent-, space- and hyphen-insensitive form of a name, for matching only."""
    decomposed = unicodedata.normalize("NFKD", raw)
    ascii_only = decomposed.encode("ascii", "ignore").decode("ascii").upper()
    return _NOT_LETTERS.sub("", ascii_only)


def accentless_lower(text: str) -> str:
    """Lower-case, accent-free text (for header recognition and comment classification)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


# --- dates -----------------------------------------------------------------------------------------

_DATE_PARTS = re.compile(r"\s*(\d{1,4})[/.\-](\d{1,2})[/.\-](\d{1,4})(?:[ T]\S*)?\s*$")


@lru_cache(maxsize=100_000)
def date_parts(raw: str) -> tuple[int, int, int] | None:
    """(year, month, day) as written, not validated: dd/mm/yyyy, dd/mm/yy, yyyy-mm-dd (also with . or -).

    A two-digit year is returned as written (0–99); `parse_date` resolves the century.
    """
    match = _DATE_PARTS.match(raw)
    if match is None:
        return None
    first, month, last = match.groups()
    if len(first) == 4:
        return int(first), int(month), int(last)
    if len(last) in (2, 4):
        return int(last), int(month), int(first)
    return None


@lru_cache(maxsize=100_000)
def parse_date(raw: str, *, pivot_year: int | None = None) -> dt.date | None:
    """A real calendar date, or None ("31/02/1980", "00/00/0000", garbage).

    Two-digit years take the latest century that does not put the date after `pivot_year`
    (default: this year), which is right for birth dates and specimen dates alike.
    """
    parts = date_parts(raw)
    if parts is None:
        return None
    year, month, day = parts
    if year < 100:
        pivot = pivot_year or dt.date.today().year
        year += 2000 if 2000 + year <= pivot else 1900
    if year < 1850:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


@lru_cache(maxsize=100_000)
def date_key(raw: str) -> str:
    """Day, month and two-digit year as written: the same date in any accepted format gives one key.

    The century is left out on purpose so that "05/03/52" and "1952-03-05" match; an impossible date
    ("31/02/1980") still keys consistently.
    """
    parts = date_parts(raw)
    if parts is None:
        return raw.strip()
    year, month, day = parts
    return f"{day:02d}{month:02d}{year % 100:02d}"


def age_on(birth_date: dt.date, on: dt.date) -> int:
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


# --- phones ----------------------------------------------------------------------------------------

_PHONE_NOISE = str.maketrans("", "", " .-/()\t\u00a0")


@lru_cache(maxsize=50_000)
def _phone_slow(raw: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, "FR")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_phone(raw: str) -> str | None:
    """E.164 ("+33299123456"), or None when it is not a usable number.

    Fast path for the common French national forms ("02 99 12 34 56", "+33 6…", "0033 6…");
    anything else goes through phonenumbers (region FR by default).
    """
    digits = raw.translate(_PHONE_NOISE)
    if not digits:
        return None
    if digits.startswith("+33"):
        national = digits[3:]
    elif digits.startswith("0033"):
        national = digits[4:]
    elif len(digits) == 10 and digits[0] == "0":
        national = digits[1:]
    else:
        national = ""
    if national.startswith("0"):  # "+33 (0)6 …"
        national = national[1:]
    if len(national) == 9 and national.isdigit() and national[0] in "123456789" and national.isascii():
        return "+33" + national
    return _phone_slow(raw)


# --- email -----------------------------------------------------------------------------------------


def normalize_email(raw: str) -> str | None:
    """Lower-cased address when Django's validator accepts it, else None ("jean.dupont@", "n/a")."""
    value = raw.strip().lower()
    if "@" not in value:
        return None
    try:
        validate_email(value)
    except ValidationError:
        return None
    if len(value) > 254:
        return None
    return value


# --- person key ------------------------------------------------------------------------------------


def person_material(*, nir_compact_: str, last_name: str, first_name: str, birth_date_raw: str) -> str:
    """What identifies a person across rows (in memory only): NIR + birth date, else names + birth date."""
    if nir_compact_:
        return f"nir:{nir_compact_}|{date_key(birth_date_raw)}"
    return f"name:{name_key(last_name)}|{name_key(first_name)}|{date_key(birth_date_raw)}"


def person_key(material: str, secret: str) -> str:
    """Keyed HMAC-SHA256 of the identifying material: links a person's rows and labs, reveals nothing."""
    return hmac.digest(secret.encode(), material.encode(), "sha256").hex()  # one-shot: no HMAC object
