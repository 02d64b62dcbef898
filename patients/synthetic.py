"""A synthetic leaked file, shaped like the published analyses of the real one, and its exact truth.

Never real data: names, streets and towns come from Faker (fr_FR), phone numbers from the ranges ARCEP
reserves for fiction, email domains from the reserved `example.*` names, NIRs are made up (valid keys).

Speed: Faker is slow per call, so it fills small pools once and a seeded `random.Random` draws from
them; rows are written by `csv.writer` in chunks. Memory stays bounded: persons are generated lab by
lab and their rows written chunk by chunk; only aggregate counters (the truth) and the sets that keep
identities unique grow with the number of persons, never with the number of rows or fields.

The truth sidecar is computed from the rows as written (after breaking the few broken ones): it is what a
correct importer must report. The file format is a contract with the importer (see HEADER and the
phrase lists below).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from faker import Faker

HEADER = [
    "CODE_LABO",
    "NUM_DOSSIER",
    "DATE_PRELEVEMENT",
    "CIVILITE",
    "NOM",
    "PRENOM",
    "NOM_NAISSANCE",
    "DATE_NAISSANCE",
    "NUM_SECU",
    "RANG_CPAM",
    "ADRESSE1",
    "ADRESSE2",
    "CP",
    "VILLE",
    "PAYS",
    "TEL_FIXE",
    "TEL_PORTABLE",
    "EMAIL",
    "GROUPE_SANGUIN",
    "RHESUS",
    "MEDECIN_PRESCRIPTEUR",
    "MEDECIN_ADRESSE",
    "ORGANISME",
    "MUTUELLE",
    "NOM_CONJOINT",
    "LOGIN_PORTAIL",
    "MDP_PORTAIL",
    "COMMENTAIRE",
    "COMMENTAIRE_MEDICAL",
    "SEXE",
]
COL = {name: index for index, name in enumerate(HEADER)}

DEPARTEMENTS = ("22", "27", "35", "41", "45", "56")
DELIMITERS = {";": ";", ",": ",", "tab": "\t", "\t": "\t"}
ENCODINGS = ("utf-8", "cp1252")
CIVILITIES = ("M.", "Mme", "Mlle", "Enfant", "Bébé")

# The shared test vocabulary: the importer's classifier must give each phrase this class.
SENSITIVE_PHRASES: dict[str, tuple[str, ...]] = {
    "pregnancy": ("Grossesse 12 SA", "patiente enceinte", "suivi de grossesse"),
    "hiv": ("VIH positif", "séropositive, sous traitement", "HIV+"),
    "cancer": ("cancer du sein, chimiothérapie en cours", "tumeur - suivi oncologie"),
    "disability": ("patient sourd, prévenir par SMS", "malentendante", "aveugle"),
    "mental_health": ("suivi psychiatrique", "dépression sévère"),
    "genetic": ("mucoviscidose (maladie génétique)", "drépanocytose"),
    "addiction": ("sevrage alcoolique", "toxicomanie, traitement de substitution"),
}
OTHER_MEDICAL_PHRASES = ("à jeun", "prélèvement difficile", "sous anticoagulants")
SENSITIVE_CLASSES = (*SENSITIVE_PHRASES, "other_medical")  # the order of categories.Sensitive
PHRASE_CLASS = {phrase.lower(): cls for cls, phrases in SENSITIVE_PHRASES.items() for phrase in phrases}
PHRASE_CLASS.update({phrase.lower(): "other_medical" for phrase in OTHER_MEDICAL_PHRASES})

# Share of each sensitive class among persons who have one (pregnancy only for women of 16–45).
_SENSITIVE_WEIGHTS = (
    ("pregnancy", 25),
    ("hiv", 8),
    ("cancer", 15),
    ("disability", 15),
    ("mental_health", 12),
    ("genetic", 10),
    ("addiction", 15),
)

BROKEN_KINDS = ("field_count", "no_lab_code", "no_identity")
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
# ARCEP numbers reserved for audiovisual fiction: they reach nobody.
_LANDLINE_PREFIXES = ("0199 00", "0261 91", "0353 01", "0465 71", "0536 49")
_MOBILE_PREFIXES = ("0639 98",)
_BLOOD_GROUPS = (("O", 43), ("A", 45), ("B", 9), ("AB", 3))
_INSURERS = (
    ("CPAM des Côtes-d'Armor", "22"),
    ("CPAM de l'Eure", "27"),
    ("CPAM d'Ille-et-Vilaine", "35"),
    ("CPAM de Loir-et-Cher", "41"),
    ("CPAM du Loiret", "45"),
    ("CPAM du Morbihan", "56"),
)
_ADDRESS_COMPLEMENTS = (
    "Appt 12",
    "Bât. B",
    "Résidence Les Tilleuls",
    "Escalier C, 3e étage",
    "Lieu-dit Kerlann",
    "BP 42",
)
_START = dt.date(2015, 1, 1)
_END = dt.date(2020, 12, 31)
_DAYS = [_START + dt.timedelta(days=n) for n in range((_END - _START).days + 1)]
# Specimen dates as written: dd/mm/yyyy mostly, some yyyy-mm-dd and dd/mm/yy.
_DAY_DMY = [d.strftime("%d/%m/%Y") for d in _DAYS]
_DAY_ISO = [d.isoformat() for d in _DAYS]
_DAY_DMY2 = [d.strftime("%d/%m/%y") for d in _DAYS]
_IMPOSSIBLE_BIRTH_DATES = ("31/02/1980", "00/00/0000", "30/02/1975", "31/04/1962")


def ascii_letters(text: str) -> str:
    """Lower-case ASCII letters only ("Le Gall-Hervé" → "legallherve"): email local parts, name keys."""
    decomposed = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in decomposed.lower() if ch.isalpha())


def date_key(raw: str) -> str:
    """Day, month and 2-digit year of a written date (any of the three formats), else the text itself."""
    raw = raw.strip()
    parts = raw.replace("-", "/").split("/")
    if len(parts) != 3:
        return raw
    if len(parts[0]) == 4:
        year, month, day = parts
    else:
        day, month, year = parts
    return f"{day.zfill(2)}{month.zfill(2)}{year[-2:]}"


def nir_key(first13: str) -> str:
    """The mod-97 key of a NIR's first 13 characters (Corsica: 2A counts as 19, 2B as 18)."""
    digits = first13[:5] + {"2A": "19", "2B": "18"}.get(first13[5:7], first13[5:7]) + first13[7:13]
    return f"{97 - int(digits) % 97:02d}"


def comment_classes(text: str) -> set[str]:
    """Classes of a comment the generator wrote (one phrase per line), for the truth and the tests."""
    return {PHRASE_CLASS[line.strip().lower()] for line in text.splitlines() if line.strip()}


@dataclass(frozen=True)
class Pools:
    """What Faker is asked for once; everything else is drawn from these with a seeded Random."""

    last_names: tuple[str, ...]
    female_first_names: tuple[str, ...]
    male_first_names: tuple[str, ...]
    streets: tuple[str, ...]
    towns: dict[str, tuple[tuple[str, str], ...]]  # département → (postcode, town)

    @classmethod
    def build(cls, seed: int) -> Pools:
        fake = Faker("fr_FR")
        fake.seed_instance(seed)

        def pool(make: Callable[[], str], calls: int) -> tuple[str, ...]:
            # Keep the first appearance order (deterministic), and only what cp1252 can write.
            seen: dict[str, None] = {}
            for _ in range(calls):
                value = make().strip()
                if value and "\n" not in value and _cp1252_safe(value):
                    seen.setdefault(value, None)
            return tuple(seen)

        town_names = pool(fake.city, 1500)
        rng = random.Random(seed)
        towns = {
            dept: tuple((f"{dept}{rng.randrange(0, 1000, 10):03d}", rng.choice(town_names)) for _ in range(120))
            for dept in DEPARTEMENTS
        }
        return cls(
            last_names=pool(fake.last_name, 3000),
            female_first_names=pool(fake.first_name_female, 1500),
            male_first_names=pool(fake.first_name_male, 1500),
            streets=pool(fake.street_address, 4000),
            towns=towns,
        )


def _cp1252_safe(text: str) -> bool:
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


class Person:
    """One synthetic person, as a laboratory system would hold them (the same at every laboratory)."""

    __slots__ = (
        "accounted",
        "address",
        "birth_day_offset",
        "birth_iso",
        "birth_name",
        "birth_raw",
        "blood",
        "civility",
        "email",
        "email_valid",
        "first_name",
        "insurer_mutual",
        "is_baby",
        "landline",
        "last_name",
        "mobile",
        "nir",
        "portal",
        "rank",
        "sensitive",
        "sex",
        "spouse",
    )


@dataclass(frozen=True)
class Shape:
    """How many specimen rows a person has at a laboratory, and how often a person is seen at a second one."""

    name: str
    rows_per_person: tuple[int, ...]
    weights: tuple[int, ...]
    second_lab_rate: float

    @property
    def mean_rows(self) -> float:
        return sum(n * w for n, w in zip(self.rows_per_person, self.weights, strict=True)) / sum(self.weights)


# "real" (the default): the CNIL and the press count about 491,840 affected people in a file of 491,840
# lines, so about one line per person; a small share of persons with a second or third specimen row and
# a small share seen at two laboratories are assumptions (not published), kept small enough that a
# 491,839-row file holds 480,000–490,000 patients. "legacy": the first generator's shape (1 to 6 rows
# per person, about 2.5), kept to compare figures with earlier runs.
SHAPES = {
    "real": Shape("real", rows_per_person=(1, 2, 3), weights=(985, 12, 3), second_lab_rate=0.015),
    "legacy": Shape("legacy", rows_per_person=(1, 2, 3, 4, 5, 6), weights=(32, 26, 18, 11, 8, 5), second_lab_rate=0.02),
}
DEFAULT_SHAPE = "real"


@dataclass
class Truth:
    """What a correct importer must report for the generated file (accepted records only)."""

    seed: int
    shape: str = DEFAULT_SHAPE
    rows: int = 0
    rejected: int = 0
    persons: int = 0
    patients_by_lab: Counter = field(default_factory=Counter)
    sensitive_patients: Counter = field(default_factory=Counter)
    patients_with_email: int = 0
    patients_with_nir_exposed: int = 0
    patients_with_password_exposed: int = 0
    broken_by_kind: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        by_lab = {code: n for code, n in sorted(self.patients_by_lab.items()) if n}
        return {
            "rows": self.rows,
            "rejected": self.rejected,
            "accepted": self.rows - self.rejected,
            "patients": sum(by_lab.values()),
            "patients_by_lab": by_lab,
            "persons": self.persons,
            "laboratories": len(by_lab),
            "sensitive_patients": {cls: self.sensitive_patients[cls] for cls in SENSITIVE_CLASSES},
            "patients_with_email": self.patients_with_email,
            "patients_with_nir_exposed": self.patients_with_nir_exposed,
            "patients_with_password_exposed": self.patients_with_password_exposed,
            "seed": self.seed,
            "shape": self.shape,
        }


@dataclass(frozen=True)
class Lab:
    index: int
    code: str
    dept: str
    doctors: tuple[tuple[str, str], ...]  # (name, address)


class LeakGenerator:
    """Draws persons and their rows; `write` streams them to a CSV file and returns the truth."""

    BROKEN_RATE = 0.002
    CHUNK_ROWS = 20_000

    def __init__(self, *, seed: int, pools: Pools | None = None, shape: str = DEFAULT_SHAPE) -> None:
        if shape not in SHAPES:
            raise ValueError(f"shape must be one of {', '.join(SHAPES)}")
        self.seed = seed
        self.shape = SHAPES[shape]
        self.rng = random.Random(seed)
        self.pools = pools or Pools.build(seed)
        self._nirs: set[str] = set()
        self._name_keys: set[tuple[str, str, str]] = set()
        self._ascii: dict[str, str] = {}
        self._rows_cum = list(_cumulative(self.shape.weights))

    # --- persons -----------------------------------------------------------------------------------
    def _ascii_of(self, name: str) -> str:
        value = self._ascii.get(name)
        if value is None:
            value = self._ascii[name] = ascii_letters(name)
        return value

    def _last_name(self) -> str:
        rng, names = self.rng, self.pools.last_names
        if rng.random() < 0.06:
            return f"{rng.choice(names)}-{rng.choice(names)}"
        return rng.choice(names)

    def new_person(self, *, home_dept: str) -> Person:
        """A new person living mostly near `home_dept`; each step draws from the one seeded Random, in order."""
        rng = self.rng
        p = Person()
        p.accounted = False  # counted among the truth's persons (once, whatever their laboratories)
        self._draw_civility(p)
        birth = self._draw_birth_date(p)
        p.birth_day_offset = (birth - _START).days
        upper = rng.random() < 0.7
        last, first = self._draw_names(p, upper=upper)
        p.birth_raw = birth.strftime("%d/%m/%Y")
        p.birth_iso = birth.isoformat()
        last = self._draw_nir(p, birth=birth, home_dept=home_dept, last=last, first=first, upper=upper)
        self._draw_contacts(p, last=last, first=first)
        p.blood = None
        if rng.random() < 0.61:
            p.blood = (_weighted(rng, _BLOOD_GROUPS), "POS" if rng.random() < 0.85 else "NEG")
        p.portal = None
        if rng.random() < 0.035:
            login = f"{self._ascii_of(first)[:1]}{self._ascii_of(last)[:10]}{rng.randint(10, 99)}"
            p.portal = (login, _password(rng))
        dept = self._draw_address(p, home_dept=home_dept)
        insurer = next(name for name, code in _INSURERS if code == dept) if rng.random() < 0.9 else "MSA"
        mutual = f"Mutuelle {rng.choice(self.pools.last_names)}" if rng.random() < 0.5 else ""
        p.insurer_mutual = (insurer, mutual)
        p.rank = "2" if p.civility in ("Enfant", "Bébé") else "1"
        p.sensitive = self._draw_sensitive(p, birth=birth)
        return p

    def _draw_civility(self, p: Person) -> None:
        rng = self.rng
        r = rng.random()
        p.is_baby = False
        if r < 0.48:
            p.civility, p.sex = "Mme", "F"
        elif r < 0.55:
            p.civility, p.sex = "Mlle", "F"
        elif r < 0.95:
            p.civility, p.sex = "M.", "M"
        elif r < 0.9775:
            p.civility, p.sex = "Enfant", rng.choice("FM")
        elif r < 0.9784:
            p.civility, p.sex, p.is_baby = "Bébé", rng.choice("FM"), True
        else:
            p.civility, p.sex = "", rng.choice("FM")

    def _draw_birth_date(self, p: Person) -> dt.date:
        """Babies are born during the leak's period, children ("Enfant") in 2003-2014, adults in 1928-2001."""
        rng = self.rng
        if p.is_baby:
            return _START + dt.timedelta(days=rng.randrange(0, (_END - _START).days - 30))
        if p.civility == "Enfant":
            return dt.date(2003, 1, 1) + dt.timedelta(days=rng.randrange(0, 4380))
        return dt.date(1928, 1, 1) + dt.timedelta(days=rng.randrange(0, 27000))

    def _draw_names(self, p: Person, *, upper: bool) -> tuple[str, str]:
        """Last, first, birth (maiden) name and spouse; returns (last, first) as drawn, before upper-casing."""
        rng, pools = self.rng, self.pools
        last = self._last_name()
        first = rng.choice(pools.female_first_names if p.sex == "F" else pools.male_first_names)
        p.last_name = last.upper() if upper else last
        p.first_name = first
        p.birth_name = ""
        p.spouse = ""
        if p.civility == "Mme" and rng.random() < 0.5:
            maiden = self._last_name()
            p.birth_name = maiden.upper() if upper else maiden
            if rng.random() < 0.3:
                p.spouse = f"{p.last_name} {rng.choice(pools.male_first_names)}"
        return last, first

    def _draw_nir(self, p: Person, *, birth: dt.date, home_dept: str, last: str, first: str, upper: bool) -> str:
        """A NIR for almost everyone; the few without one may get another last name, so that no one else has
        their names and birth date. Returns the last name (before upper-casing)."""
        rng = self.rng
        p.nir = ""
        if rng.random() < 0.996:
            p.nir = self._new_nir(p.sex, birth, home_dept)
            # Impossible dates (adults' years: a child's would contradict their civility); keyed consistently
            # since every row of the person has it.
            if rng.random() < 0.0015 and p.civility not in ("Enfant", "Bébé"):
                p.birth_raw = p.birth_iso = rng.choice(_IMPOSSIBLE_BIRTH_DATES)
            return last
        key = (self._ascii_of(last), self._ascii_of(first), date_key(p.birth_raw))
        while key in self._name_keys:  # persons without a NIR are told apart by names + birth date
            last = self._last_name()
            p.last_name = last.upper() if upper else last
            key = (self._ascii_of(last), self._ascii_of(first), date_key(p.birth_raw))
        self._name_keys.add(key)
        return last

    def _draw_contacts(self, p: Person, *, last: str, first: str) -> None:
        """Email (valid, or a few malformed ones), landline and mobile."""
        rng = self.rng
        p.email, p.email_valid = "", False
        r = rng.random()
        if r < 0.115:
            local = f"{self._ascii_of(first)}.{self._ascii_of(last)}"
            if rng.random() < 0.4:
                local += str(rng.randint(1, 99))
            p.email = f"{local}@{rng.choice(EMAIL_DOMAINS)}"
            if rng.random() < 0.1:
                p.email = p.email.upper() if rng.random() < 0.5 else p.email.capitalize()
            p.email_valid = True
        elif r < 0.121:
            p.email = rng.choice((f"{self._ascii_of(first)}.{self._ascii_of(last)}@", "n/a"))
        p.landline = _phone(rng, _LANDLINE_PREFIXES) if rng.random() < 0.61 else ""
        p.mobile = _phone(rng, _MOBILE_PREFIXES) if rng.random() < 0.355 else ""

    def _draw_address(self, p: Person, *, home_dept: str) -> str:
        """An address, in the home département four times out of five; returns its département."""
        rng = self.rng
        dept = home_dept if rng.random() < 0.8 else rng.choice(DEPARTEMENTS)
        postcode, town = rng.choice(self.pools.towns[dept])
        street = rng.choice(self.pools.streets)
        complement = ""
        r = rng.random()
        if r < 0.012:  # a multi-line quoted address field
            street = f"{rng.choice(_ADDRESS_COMPLEMENTS)}\n{street}"
        elif r < 0.018:  # a delimiter inside a quoted field
            complement = "Bât. B; 2e étage"
        elif r < 0.2:
            complement = rng.choice(_ADDRESS_COMPLEMENTS)
        p.address = (street, complement, postcode, town)
        return dept

    def _draw_sensitive(self, p: Person, *, birth: dt.date) -> str | None:
        """The class of sensitive medical comment this person's records carry, for 2.5 % of people."""
        rng = self.rng
        if rng.random() >= 0.025:
            return None
        sensitive_class = _weighted(rng, _SENSITIVE_WEIGHTS)
        age_2018 = 2018 - birth.year
        if sensitive_class == "pregnancy" and not (p.sex == "F" and 16 <= age_2018 <= 45):
            sensitive_class = "cancer"
        return sensitive_class

    def _new_nir(self, sex: str, birth: dt.date, home_dept: str) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.55:
            dept = home_dept
        elif r < 0.63:
            dept = rng.choice(DEPARTEMENTS)
        elif r < 0.65:
            dept = rng.choice(("2A", "2B"))
        elif r < 0.70:
            dept = "99"  # born abroad: the "commune" is a country code
        else:
            dept = f"{rng.choice([n for n in range(1, 96) if n != 20]):02d}"
        head = f"{'1' if sex == 'M' else '2'}{birth.year % 100:02d}{birth.month:02d}{dept}"
        while True:
            body = f"{head}{rng.randint(1, 899):03d}{rng.randint(1, 999):03d}"
            if body not in self._nirs:
                self._nirs.add(body)
                break
        key = nir_key(body)
        if rng.random() < 0.004:  # a wrong key, as typed by hand
            key = f"{(int(key) - 1 + rng.randint(1, 96)) % 97 + 1:02d}"
        return body + key

    # --- rows --------------------------------------------------------------------------------------
    def rows_for(self, p: Person, lab: Lab, count: int, seq_start: int) -> list[list[str]]:
        """`count` specimen rows of one person at one laboratory (not broken yet)."""
        rng = self.rng
        rows = []
        doctor = rng.choice(lab.doctors)
        lo = max(0, p.birth_day_offset)
        hi = len(_DAYS) if not p.is_baby else min(len(_DAYS), lo + 365)
        sensitive_row = rng.randrange(count) if p.sensitive else -1
        street, complement, postcode, town = p.address
        for n in range(count):
            day = rng.randrange(lo, hi)
            r = rng.random()
            specimen = _DAY_DMY[day] if r < 0.9 else (_DAY_ISO[day] if r < 0.97 else _DAY_DMY2[day])
            nir = p.nir
            if nir:
                r = rng.random()
                if r < 0.10:
                    nir = f"{nir[0]} {nir[1:3]} {nir[3:5]} {nir[5:7]} {nir[7:10]} {nir[10:13]} {nir[13:]}"
                elif r < 0.15:
                    nir = f"{nir[0]}.{nir[1:3]}.{nir[3:5]}.{nir[5:7]}.{nir[7:10]}.{nir[10:13]}.{nir[13:]}"
            last = p.last_name if not (p.nir and rng.random() < 0.025) else ""
            comment = medical = ""
            if p.sensitive and (n == sensitive_row or rng.random() < 0.4):
                phrases = SENSITIVE_PHRASES[p.sensitive]
                text = rng.choice(phrases)
                if rng.random() < 0.08:  # a multi-line comment (same class on both lines)
                    text = f"{text}\n{rng.choice(phrases)}"
                if rng.random() < 0.8:
                    medical = text
                else:
                    comment = text
            elif rng.random() < 0.02:
                text = rng.choice(OTHER_MEDICAL_PHRASES)
                if rng.random() < 0.1:
                    text = f"{text}\n{rng.choice(OTHER_MEDICAL_PHRASES)}"
                comment = text
            blood, rhesus = p.blood if p.blood and rng.random() < 0.9 else ("", "")
            login, password = p.portal if p.portal and rng.random() < 0.85 else ("", "")
            rows.append(
                [
                    lab.code,
                    f"{_DAYS[day].year % 100:02d}{lab.index + 1:02d}{seq_start + n:07d}",
                    specimen,
                    p.civility,
                    last,
                    p.first_name,
                    p.birth_name,
                    p.birth_raw if rng.random() < 0.92 else p.birth_iso,
                    nir,
                    p.rank if rng.random() < 0.9 else "",
                    street,
                    complement,
                    postcode,
                    town,
                    "FRANCE" if rng.random() < 0.6 else "",
                    p.landline if rng.random() < 0.9 else "",
                    p.mobile if rng.random() < 0.9 else "",
                    p.email if rng.random() < 0.95 else "",
                    blood,
                    rhesus,
                    doctor[0] if rng.random() < 0.985 else "",
                    doctor[1],
                    p.insurer_mutual[0] if rng.random() < 0.95 else "",
                    p.insurer_mutual[1],
                    p.spouse,
                    login,
                    password,
                    comment,
                    medical,
                    p.sex if rng.random() < 0.9 else "",
                ]
            )
        return rows

    def break_row(self, row: list[str]) -> tuple[list[str], str]:
        """Make a record the importer must reject: wrong field count, no lab code, or no name nor NIR."""
        kind = self.rng.choice(BROKEN_KINDS)
        if kind == "field_count":
            # An unquoted delimiter inside the first address line: one field becomes two.
            index = COL["ADRESSE1"]
            head, _, tail = row[index].replace("\n", " ").partition(" ")
            row = [*row[:index], head, tail or "bis", *row[index + 1 :]]
        elif kind == "no_lab_code":
            row[COL["CODE_LABO"]] = ""
        else:
            row[COL["NOM"]] = row[COL["NUM_SECU"]] = row[COL["NOM_NAISSANCE"]] = ""
        return row, kind

    # --- labs --------------------------------------------------------------------------------------
    def labs(self, count: int) -> list[Lab]:
        rng, pools = self.rng, self.pools
        result = []
        for index in range(count):
            dept = DEPARTEMENTS[index % len(DEPARTEMENTS)]
            doctors = []
            for _ in range(30):
                sex_pool = rng.choice((pools.female_first_names, pools.male_first_names))
                town = rng.choice(pools.towns[dept])
                name = f"Dr {rng.choice(sex_pool)} {rng.choice(pools.last_names).upper()}"
                doctors.append((name, f"{rng.choice(pools.streets)} {town[0]} {town[1]}"))
            result.append(Lab(index=index, code=f"LAB{index + 1:02d}", dept=dept, doctors=tuple(doctors)))
        return result

    def allocate(self, rows: int, labs: int) -> list[int]:
        """Rows per laboratory: uneven sizes (log-normal weights), summing exactly to `rows`."""
        weights = [self.rng.lognormvariate(0, 0.7) for _ in range(labs)]
        total = sum(weights)
        shares = [rows * w / total for w in weights]
        counts = [int(s) for s in shares]
        by_remainder = sorted(range(labs), key=lambda i: shares[i] - counts[i], reverse=True)
        for i in by_remainder[: rows - sum(counts)]:
            counts[i] += 1
        return counts

    def write(
        self,
        path: Path,
        *,
        rows: int,
        labs: int = 27,
        encoding: str = "utf-8",
        delimiter: str = ";",
        progress: Callable[[int], None] | None = None,
    ) -> dict:
        """Write the leak to `path` and its truth to `path + .truth.json`; returns the truth."""
        if encoding not in ENCODINGS:
            raise ValueError(f"encoding must be one of {', '.join(ENCODINGS)}")
        if delimiter not in DELIMITERS:
            raise ValueError("delimiter must be ';', ',' or 'tab'")
        if rows < 0 or labs < 1:
            raise ValueError("rows must be ≥ 0 and labs ≥ 1")
        rng = self.rng
        truth = Truth(seed=self.seed, shape=self.shape.name)
        lab_list = self.labs(labs)
        allocation = self.allocate(rows, labs)
        pending: list[list[Person]] = [[] for _ in range(labs)]  # persons also seen at a later lab
        # Windows-style line ends for cp1252, Unix ones for UTF-8: the importer must take both.
        terminator = "\r\n" if encoding == "cp1252" else "\n"
        path = Path(path)
        with path.open("w", encoding=encoding, newline="") as handle:
            writer = csv.writer(handle, delimiter=DELIMITERS[delimiter], lineterminator=terminator)
            writer.writerow(HEADER)
            chunk: list[list[str]] = []
            written = 0
            for lab, budget in zip(lab_list, allocation, strict=True):
                seq = 0
                queued = pending[lab.index]
                while budget > 0:
                    if queued:
                        person = queued.pop()
                    else:
                        person = self.new_person(home_dept=lab.dept)
                        if lab.index < labs - 1 and rng.random() < self.shape.second_lab_rate:
                            pending[rng.randrange(lab.index + 1, labs)].append(person)
                    count = min(budget, rng.choices(self.shape.rows_per_person, cum_weights=self._rows_cum)[0])
                    group = self.rows_for(person, lab, count, seq)
                    seq += count
                    budget -= count
                    accepted = []
                    for row in group:
                        if rng.random() < self.BROKEN_RATE:
                            row, kind = self.break_row(row)
                            truth.broken_by_kind[kind] += 1
                            truth.rejected += 1
                        else:
                            accepted.append(row)
                        chunk.append(row)
                    truth.rows += count
                    self._account(truth, lab, person, accepted)
                    if len(chunk) >= self.CHUNK_ROWS:
                        rng.shuffle(chunk)
                        writer.writerows(chunk)
                        written += len(chunk)
                        chunk.clear()
                        if progress:
                            progress(written)
                pending[lab.index] = []
            rng.shuffle(chunk)
            writer.writerows(chunk)
            if progress:
                progress(written + len(chunk))
        result = truth.as_dict()
        truth_path(path).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return result

    @staticmethod
    def _account(truth: Truth, lab: Lab, person: Person, accepted: list[list[str]]) -> None:
        """One person at one laboratory is one patient if any of their rows was accepted."""
        if not accepted:
            return
        truth.patients_by_lab[lab.code] += 1
        if not person.accounted:
            person.accounted = True
            truth.persons += 1
        email, nir, password = COL["EMAIL"], COL["NUM_SECU"], COL["MDP_PORTAIL"]
        if person.email_valid and any(row[email] for row in accepted):
            truth.patients_with_email += 1
        if any(row[nir] for row in accepted):
            truth.patients_with_nir_exposed += 1
        if any(row[password] for row in accepted):
            truth.patients_with_password_exposed += 1
        classes: set[str] = set()
        for row in accepted:
            for text in (row[COL["COMMENTAIRE"]], row[COL["COMMENTAIRE_MEDICAL"]]):
                if text:
                    classes |= comment_classes(text)
        for cls in classes:
            truth.sensitive_patients[cls] += 1


def truth_path(path: Path | str) -> Path:
    return Path(f"{path}.truth.json")


def leak_generate(
    *,
    path: Path | str,
    rows: int,
    labs: int = 27,
    seed: int = 0,
    encoding: str = "utf-8",
    delimiter: str = ";",
    shape: str = DEFAULT_SHAPE,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Write a synthetic leak and its truth sidecar; the same arguments always give the same bytes."""
    started = time.perf_counter()
    generator = LeakGenerator(seed=seed, shape=shape)
    truth = generator.write(Path(path), rows=rows, labs=labs, encoding=encoding, delimiter=delimiter, progress=progress)
    return {**truth, "seconds": round(time.perf_counter() - started, 2)}


def _cumulative(weights: tuple[int, ...]) -> list[int]:
    total, result = 0, []
    for weight in weights:
        total += weight
        result.append(total)
    return result


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    target = rng.random() * sum(weight for _, weight in choices)
    for value, weight in choices:
        target -= weight
        if target < 0:
            return value
    return choices[-1][0]


def _phone(rng: random.Random, prefixes: tuple[str, ...]) -> str:
    national = rng.choice(prefixes).replace(" ", "") + f"{rng.randrange(10_000):04d}"
    r = rng.random()
    if r < 0.6:
        return " ".join(national[i : i + 2] for i in range(0, 10, 2))
    if r < 0.85:
        return national
    if r < 0.95:
        return ".".join(national[i : i + 2] for i in range(0, 10, 2))
    return "+33 " + " ".join([national[1], *(national[i : i + 2] for i in range(2, 10, 2))])


def _password(rng: random.Random) -> str:
    alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(6, 10)))
