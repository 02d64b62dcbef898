"""The recipient block laid out as La Poste reads it (AFNOR NF Z10-011): at most 6 lines of 38 characters.

    1 recipient                         M. Jean MARTIN / Aux parents ou représentant légal de + name
    2 complement of the recipient       Appt 12 Escalier C 3e étage
    3 complement of the building        Bât. B Résidence Les Tilleuls
    4 number and street                 802 rue Besson
    5 lieu-dit, BP                      Lieu-dit Kerlann / BP 42
    6 postcode and town, in capitals    35000 RENNES     (+ the country, abroad)

The leaked file holds a whole address in one field (`Patient.address_line`, two source columns joined), so
the complement is often glued onto the street (« 802, rue Besson Bât. B »): `address_parts` finds it again
by its keyword. A part too long for one line wraps onto the next free line; only when the block cannot fit
in 6 lines of 38 characters is it marked as not fitting (listed on the letters preview for the DPO) and,
as a last resort, cut.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

MAX_LINES = 6
MAX_CHARS = 38
ELLIPSIS = "…"

RECIPIENT_COMPLEMENT, BUILDING, STREET, LOCALITY = 2, 3, 4, 5

_STREET_TYPES = (
    r"rue|avenue|av\.?|boulevard|bd|chemin|ch\.|impasse|imp\.|all[ée]e|place|pl\.|route|rte|quai|cours|square|"
    r"passage|voie|sentier|rond-point|cit[ée]|parvis|promenade|esplanade|faubourg|fbg|mont[ée]e|venelle|ruelle|"
    r"traverse|carrefour|lotissement|hameau|domaine|clos|mail|sq\."
)
# Where a part starts, by kind; the first alternative that matches at a position wins.
_STARTS = (
    (
        RECIPIENT_COMPLEMENT,
        r"app(?:artement|art\.?|t\.?)|apt\.?|esc(?:alier|\.)?|chez|c/o|bo[iî]te|porte(?=\s+\w{1,3}\b)",
    ),
    (RECIPIENT_COMPLEMENT, r"\d{1,2}\s?(?:e|er|[eè]me|è|re)\s+[ée]tage|rez-de-chauss[ée]e|rdc"),
    (BUILDING, r"b[aâ]t(?:iment|\.)?|r[ée]s(?:idence|\.)|imm(?:euble|\.)|entr[ée]e|tour(?=\s+\w{1,3}\b)|bloc"),
    (LOCALITY, r"lieu[- ]?dit|bp|cs(?=\s*\d)|tsa(?=\s*\d)"),
    (STREET, rf"\d{{1,4}}(?:\s?(?:bis|ter|quater|[a-d]))?,?\s+(?:{_STREET_TYPES})"),
)
_START = re.compile(
    r"(?<![\w'’-])(?:" + "|".join(f"(?P<k{n}>{pattern})" for n, (_, pattern) in enumerate(_STARTS)) + r")(?![\w])",
    re.IGNORECASE,
)
_KIND_OF_GROUP = {f"k{n}": kind for n, (kind, _) in enumerate(_STARTS)}
# « 12, rue » → « 12 rue »: La Poste asks for no punctuation between the number and the street.
_NUMBER_COMMA = re.compile(r"^(\d{1,4}(?:\s?(?:bis|ter|quater|[a-d]))?),\s+", re.IGNORECASE)
_OF = re.compile(r"(?:\bde\s+la|\bdu|\bdes|\bde|\bd['’]|\bl['’])\s*$", re.IGNORECASE)
_TOWN_ABBREVIATIONS = ((re.compile(r"\bSAINTE\b"), "STE"), (re.compile(r"\bSAINT\b"), "ST"))
# La Poste's abbreviations of the norm's annex, used on a part only when it would not fit on one line
# (« 127 bd du Mal de Lattre de Tassigny »): sorting machines read one line better than a wrapped one.
_WORD_ABBREVIATIONS = tuple(
    (re.compile(rf"(?<![\w-]){word.replace('é', '[ée]').replace('â', '[âa]')}(?![\w-])", re.IGNORECASE), short)
    for word, short in (
        ("boulevard", "bd"), ("avenue", "av"), ("maréchal", "mal"), ("général", "gal"), ("président", "pdt"),
        ("docteur", "dr"), ("professeur", "pr"), ("sainte", "ste"), ("saint", "st"), ("faubourg", "fg"),
        ("impasse", "imp"), ("lotissement", "lot"), ("résidence", "rés"), ("bâtiment", "bât"),
        ("appartement", "appt"), ("escalier", "esc"), ("promenade", "prom"), ("square", "sq"), ("route", "rte"),
    )
)  # fmt: skip


@dataclass(frozen=True)
class PostalBlock:
    """The lines of a recipient block, and whether they fit AFNOR's 6 × 38 without cutting anything."""

    lines: tuple[str, ...]
    fits: bool


def address_parts(raw_lines: Sequence[str]) -> dict[int, list[str]]:
    """The address text split by kind (2 recipient complement, 3 building, 4 street, 5 lieu-dit / BP).

    Text before the first keyword is the street, unless a numbered street comes later (then it is a
    building's name: « Les Jardins d'Arcadie 12 rue … »).
    """
    parts: dict[int, list[str]] = {}
    for raw in raw_lines:
        for chunk in re.split(r"\s*;\s*|\n", raw):
            for kind, text in _split(" ".join(chunk.split())):
                text = text.strip(" ,;")
                if text:
                    parts.setdefault(kind, []).append(_NUMBER_COMMA.sub(r"\1 ", text) if kind == STREET else text)
    return parts


def _split(text: str) -> list[tuple[int, str]]:
    starts: list[tuple[int, int]] = []
    street_seen = False
    for match in _START.finditer(text):
        kind = _KIND_OF_GROUP[match.lastgroup or ""]
        if _OF.search(text[: match.start()]):
            continue  # « rue de la Résidence », « chemin du Bâtiment »: part of a name
        if kind == STREET:
            if street_seen:
                continue
            street_seen = True
        starts.append((match.start(), kind))
    if not starts:
        return [(STREET, text)]
    pieces = []
    if starts[0][0] > 0:
        head = text[: starts[0][0]]
        pieces.append((BUILDING if any(kind == STREET for _, kind in starts) else STREET, head))
    bounds = [position for position, _ in starts] + [len(text)]
    for (position, kind), end in zip(starts, bounds[1:], strict=True):
        pieces.append((kind, text[position:end]))
    return pieces


def _abbreviated(text: str, fits: Callable[[str], bool]) -> str:
    """`text` with La Poste's abbreviations, one word after the other, until it fits on one line; as it was
    when even all of them would not make it fit (it then wraps whole words onto the next line)."""
    short = text
    for pattern, abbreviation in _WORD_ABBREVIATIONS:
        if fits(short):
            return short
        short = pattern.sub(lambda m, a=abbreviation: _same_case(m.group(), a), short)
    return short if fits(short) else text


def _same_case(word: str, abbreviation: str) -> str:
    if word.isupper():
        return abbreviation.upper()
    return abbreviation.capitalize() if word[:1].isupper() else abbreviation


def _wrap(text: str, fits: Callable[[str], bool]) -> list[str] | None:
    """`text` over as few lines as it needs, each fitting; None when one word alone is too long."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and fits(candidate := f"{lines[-1]} {word}"):
            lines[-1] = candidate
        elif fits(word):
            lines.append(word)
        else:
            return None
    return lines


def _town_line(postcode: str, city: str, fits: Callable[[str], bool]) -> str:
    line = " ".join(p for p in (postcode, city.upper()) if p)
    for pattern, short in _TOWN_ABBREVIATIONS:  # La Poste's own abbreviations, only when needed
        if fits(line):
            break
        line = pattern.sub(short, line)
    return line


def postal_block(
    *,
    recipient: Sequence[str],
    address: Sequence[str],
    postcode: str,
    city: str,
    country_line: str = "",
    fits: Callable[[str], bool] | None = None,
) -> PostalBlock:
    """The recipient block for an envelope window; `fits(line)` may add a width test to the 38 characters."""

    def fit(line: str) -> bool:
        return len(line) <= MAX_CHARS and (fits is None or fits(line))

    parts = address_parts(address)
    groups = [
        [line for line in recipient if line.strip()],
        *(
            [_abbreviated(" ".join(parts.get(kind, [])), fit)]
            for kind in (RECIPIENT_COMPLEMENT, BUILDING, STREET, LOCALITY)
        ),
        [_town_line(postcode, city, fit)],
        [country_line],
    ]
    groups = [[line for line in group if line] for group in groups]
    # postcode and town make one line, which sorting machines read whole: it never wraps
    wrapped = [_wrap_all(group, fit) for group in groups[:5]] + [g if all(map(fit, g)) else None for g in groups[5:]]
    if all(group is not None for group in wrapped):
        lines = [line for group in wrapped for line in group or []]
        if len(lines) > MAX_LINES:
            lines = _merged_complements(wrapped, fit) or lines
        if len(lines) <= MAX_LINES:
            return PostalBlock(lines=tuple(lines), fits=True)
    return PostalBlock(lines=_cut(groups, fit), fits=False)


def _wrap_all(lines: list[str], fit: Callable[[str], bool]) -> list[str] | None:
    out: list[str] = []
    for line in lines:
        wrapped = _wrap(line, fit)
        if wrapped is None:
            return None
        out.extend(wrapped)
    return out


def _merged_complements(wrapped: list[list[str] | None], fit: Callable[[str], bool]) -> list[str] | None:
    """Lines 2 and 3 on one line when they are short (the norm allows it), to make room for the rest."""
    complements = " ".join(line for group in wrapped[1:3] for line in group or [])
    merged = _wrap(complements, fit) if complements else []
    if merged is None:
        return None
    return [*(wrapped[0] or []), *merged, *(line for group in wrapped[3:] for line in group or [])]


def _cut(groups: list[list[str]], fit: Callable[[str], bool]) -> tuple[str, ...]:
    """Last resort for a block that cannot fit: the recipient, street, town and country first, each cut."""
    recipient, complement, building, street, locality, town, country = groups
    essential = [*recipient[:2], *street[:1], *town, *country]
    room = MAX_LINES - len(essential)
    extra = [line for line in (" ".join(complement + building), *locality) if line][: max(room, 0)]
    ordered = [*recipient[:2], *extra[:1], *street[:1], *extra[1:], *town, *country][:MAX_LINES]
    return tuple(_cut_line(line, fit) for line in ordered)


def _cut_line(line: str, fit: Callable[[str], bool]) -> str:
    if fit(line):
        return line
    while line and not fit(line + ELLIPSIS):
        line = line[:-1]
    return line.rstrip() + ELLIPSIS
