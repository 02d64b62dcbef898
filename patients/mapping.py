"""Which column of a leaked file holds which canonical field.

A mapping is a JSON object from canonical names to a column name or a list of column names (their
non-empty values are joined). Without one, headers are recognised from common French and English
names, case-, accent- and punctuation-insensitively. Columns that map to nothing still count: when
non-empty they are "other administrative data" the patient must be told about.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .normalize import accentless_lower

CANONICAL_FIELDS: tuple[str, ...] = (
    "lab_code",
    "record_id",
    "civility",
    "last_name",
    "first_name",
    "birth_name",
    "birth_date",
    "nir",
    "address_line",
    "postcode",
    "city",
    "email",
    "landline_phone",
    "mobile_phone",
    "blood_group",
    "prescriber_name",
    "specimen_date",
    "comment",
    "portal_password",
    "insurer",
)

# Recognised header spellings, already folded by `header_key` (lower-case, no accents, letters/digits).
_BUILTIN_HEADERS: dict[str, tuple[str, ...]] = {
    "lab_code": (
        "codelabo",
        "codelaboratoire",
        "labo",
        "laboratoire",
        "lab",
        "labcode",
        "laboratory",
        "laboratorycode",
        "codelab",
        "idlabo",
        "labid",
    ),
    "record_id": (
        "numdossier",
        "dossier",
        "numerodossier",
        "nodossier",
        "iddossier",
        "recordid",
        "record",
        "sampleid",
        "specimenid",
        "numprelevement",
        "numeroprelevement",
    ),
    "specimen_date": (
        "dateprelevement",
        "datedeprelevement",
        "dateduprelevement",
        "specimendate",
        "sampledate",
        "collectiondate",
        "dateanalyse",
        "datedanalyse",
    ),
    "civility": ("civilite", "civ", "titre", "title", "civility", "salutation"),
    "last_name": (
        "nom",
        "nomusuel",
        "nomdusage",
        "nomdefamille",
        "nompatient",
        "lastname",
        "surname",
        "familyname",
        "name",
    ),
    "first_name": ("prenom", "prenoms", "prenompatient", "firstname", "givenname", "forename"),
    "birth_name": ("nomnaissance", "nomdenaissance", "nomjeunefille", "nomdejeunefille", "birthname", "maidenname"),
    "birth_date": ("datenaissance", "datedenaissance", "ddn", "naissance", "birthdate", "dateofbirth", "dob"),
    "nir": (
        "numsecu",
        "nir",
        "numerosecu",
        "numerosecuritesociale",
        "nss",
        "numss",
        "secu",
        "securitesociale",
        "insee",
        "numinsee",
        "ssn",
        "socialsecuritynumber",
    ),
    "address_line": (
        "adresse",
        "adresse1",
        "adresse2",
        "adresse3",
        "adresseligne1",
        "adresseligne2",
        "complementadresse",
        "complementdadresse",
        "rue",
        "voie",
        "address",
        "address1",
        "address2",
        "addressline1",
        "addressline2",
        "street",
    ),
    "postcode": ("cp", "codepostal", "postcode", "postalcode", "zip", "zipcode"),
    "city": ("ville", "commune", "localite", "city", "town"),
    "email": ("email", "mail", "courriel", "adressemail", "adresseemail", "adressecourriel", "emailaddress"),
    "landline_phone": (
        "telfixe",
        "telephonefixe",
        "fixe",
        "tel",
        "telephone",
        "teldomicile",
        "phone",
        "landline",
        "homephone",
        "telephonenumber",
    ),
    "mobile_phone": (
        "telportable",
        "telephoneportable",
        "portable",
        "telmobile",
        "telephonemobile",
        "mobile",
        "gsm",
        "mobilephone",
        "cellphone",
        "cell",
    ),
    "blood_group": ("groupesanguin", "groupe", "bloodgroup", "bloodtype", "abo"),
    "prescriber_name": (
        "medecinprescripteur",
        "prescripteur",
        "medecin",
        "medecintraitant",
        "prescriber",
        "prescribingdoctor",
        "doctor",
        "physician",
    ),
    "comment": (
        "commentaire",
        "commentaires",
        "commentairemedical",
        "commentairesmedicaux",
        "remarque",
        "remarques",
        "observation",
        "observations",
        "note",
        "notes",
        "comment",
        "comments",
    ),
    "portal_password": (
        "mdpportail",
        "motdepasse",
        "motdepasseportail",
        "mdp",
        "password",
        "portalpassword",
        "passwd",
        "pwd",
    ),
    "insurer": ("organisme", "mutuelle", "caisse", "complementaire", "insurer", "insurance", "healthinsurer"),
}

BUILTIN_HEADER_INDEX: dict[str, str] = {
    spelling: canonical for canonical, spellings in _BUILTIN_HEADERS.items() for spelling in spellings
}

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


class MappingError(ValueError):
    """The mapping cannot be applied to this file: raised before anything is written."""


def header_key(name: str) -> str:
    """ "Date de naissance", "DATE_NAISSANCE" and "date-naissance" all give "datedenaissance"/"datenaissance"."""
    return _NOT_ALNUM.sub("", accentless_lower(name.strip().lstrip("\ufeff")))


@dataclass(frozen=True)
class ColumnPlan:
    """Column indices per canonical field, and the columns that are only "other administrative data"."""

    columns: dict[str, tuple[int, ...]]
    other_admin: tuple[int, ...]
    header: tuple[str, ...]
    names: dict[str, list[str]] = field(default_factory=dict)  # canonical → header names, for the batch row

    def has(self, canonical: str) -> bool:
        return canonical in self.columns


def _check_plan(columns: dict[str, tuple[int, ...]], how: str) -> None:
    if "lab_code" not in columns:
        raise MappingError(f"no laboratory code column ({how}): map 'lab_code' to a column")
    if "last_name" not in columns and "nir" not in columns:
        raise MappingError(f"neither a last-name nor a NIR column ({how}): map 'last_name' or 'nir'")


def _plan(header: list[str], columns: dict[str, tuple[int, ...]]) -> ColumnPlan:
    used = {index for indices in columns.values() for index in indices}
    return ColumnPlan(
        columns=columns,
        other_admin=tuple(i for i in range(len(header)) if i not in used),
        header=tuple(header),
        names={canonical: [header[i] for i in indices] for canonical, indices in columns.items()},
    )


def builtin_plan(header: list[str]) -> ColumnPlan:
    """Recognise the header's columns by name; several columns for one field are joined in file order."""
    found: dict[str, list[int]] = {}
    for index, name in enumerate(header):
        canonical = BUILTIN_HEADER_INDEX.get(header_key(name))
        if canonical is not None:
            found.setdefault(canonical, []).append(index)
    columns = {canonical: tuple(indices) for canonical, indices in found.items()}
    _check_plan(columns, "header not recognised; pass --mapping")
    return _plan(header, columns)


def load_mapping(path: str | Path) -> dict[str, str | list[str]]:
    """Read and shape-check a mapping file (object of canonical name → column name or list of names)."""
    try:
        raw = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise MappingError(f"cannot read mapping file {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise MappingError(f"mapping file {path} is not UTF-8 text") from exc
    try:
        mapping = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise MappingError(f"mapping file {path} is not valid JSON: {exc.msg} (line {exc.lineno})") from exc
    validate_mapping(mapping)
    return mapping


def validate_mapping(mapping: object) -> None:
    if not isinstance(mapping, dict) or not mapping:
        raise MappingError("a mapping must be a non-empty JSON object of canonical name → column(s)")
    unknown = sorted(set(mapping) - set(CANONICAL_FIELDS))
    if unknown:
        raise MappingError(
            f"unknown canonical name(s) in mapping: {', '.join(unknown)} (known: {', '.join(CANONICAL_FIELDS)})"
        )
    for canonical, value in mapping.items():
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n.strip() for n in names):
            raise MappingError(f"mapping for {canonical!r} must be a column name or a non-empty list of column names")


def mapping_plan(header: list[str], mapping: dict[str, str | list[str]]) -> ColumnPlan:
    """Apply an explicit mapping; columns are found by exact name, then case/accent-insensitively."""
    validate_mapping(mapping)
    exact = {name.strip().lstrip("\ufeff"): i for i, name in reversed(list(enumerate(header)))}
    loose = {header_key(name): i for i, name in reversed(list(enumerate(header)))}
    columns: dict[str, tuple[int, ...]] = {}
    owner: dict[int, str] = {}
    for canonical, value in mapping.items():
        indices = []
        for name in [value] if isinstance(value, str) else value:
            index = exact.get(name.strip(), loose.get(header_key(name)))
            if index is None:
                raise MappingError(f"column {name!r} (mapped to {canonical!r}) is not in the file's header")
            if index in owner and owner[index] != canonical:
                raise MappingError(f"column {name!r} is mapped to both {owner[index]!r} and {canonical!r}")
            owner[index] = canonical
            indices.append(index)
        columns[canonical] = tuple(indices)
    _check_plan(columns, "in the mapping")
    return _plan(header, columns)
