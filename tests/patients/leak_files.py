"""A tiny leak-file maker for the importer's tests (the generator's `generate_leak` is for volume)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from stdnum.fr import nir as stdnum_nir

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


def nir(first13: str) -> str:
    return first13 + stdnum_nir.calc_check_digits(first13)


def row(**values: str) -> dict[str, str]:
    """A plausible accepted record; keyword arguments override columns (by header name)."""
    base = {
        "CODE_LABO": "LAB01",
        "NUM_DOSSIER": "D0001",
        "DATE_PRELEVEMENT": "12/03/2019",
        "CIVILITE": "Mme",
        "NOM": "Martin",
        "PRENOM": "Anne",
        "DATE_NAISSANCE": "05/07/1953",
        "NUM_SECU": nir("2530735238004"),
        "ADRESSE1": "3 rue de la Paix",
        "CP": "35000",
        "VILLE": "Rennes",
        "TEL_FIXE": "02 99 12 34 56",
        "MEDECIN_PRESCRIPTEUR": "Dr Durand",
    }
    unknown = set(values) - set(HEADER)
    assert not unknown, unknown
    base.update(values)
    return base


def leak_text(rows: list[dict[str, str] | list[str] | str], *, delimiter: str = ";", header=HEADER, eol="\n") -> str:
    """CSV text: dict rows in header order, list rows as they are, str rows verbatim (broken lines)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=eol)
    writer.writerow(header)
    for item in rows:
        if isinstance(item, str):
            out.write(item + eol)
        elif isinstance(item, dict):
            writer.writerow([item.get(name, "") for name in header])
        else:
            writer.writerow(item)
    return out.getvalue()


def write_leak(path: Path, rows, *, encoding: str = "utf-8", **kwargs) -> Path:
    path.write_bytes(leak_text(rows, **kwargs).encode(encoding))
    return path
