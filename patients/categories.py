"""Exposure categories and sensitive (health-comment) classes, stored as bit masks.

A bit mask keeps one integer per patient and per record: unions are `|`, a letter variant is the
mask itself, and aggregates stay in the database (`F("exposure_mask").bitand(bit)`).
"""

from __future__ import annotations

import enum


class Exposure(enum.IntFlag):
    IDENTITY = 1 << 0
    BIRTH_DATE = 1 << 1
    NIR = 1 << 2
    POSTAL_ADDRESS = 1 << 3
    EMAIL = 1 << 4
    PHONE = 1 << 5
    BLOOD_GROUP = 1 << 6
    PRESCRIBER = 1 << 7
    INSURER = 1 << 8
    MEDICAL_COMMENT = 1 << 9
    PORTAL_PASSWORD = 1 << 10
    OTHER_ADMIN = 1 << 11


class Sensitive(enum.IntFlag):
    PREGNANCY = 1 << 0
    HIV = 1 << 1
    CANCER = 1 << 2
    DISABILITY = 1 << 3
    MENTAL_HEALTH = 1 << 4
    GENETIC = 1 << 5
    ADDICTION = 1 << 6
    OTHER_MEDICAL = 1 << 7


EXPOSURE_LABELS_FR = {
    Exposure.IDENTITY: "identité (nom, prénom, civilité)",
    Exposure.BIRTH_DATE: "date de naissance",
    Exposure.NIR: "numéro de sécurité sociale",
    Exposure.POSTAL_ADDRESS: "adresse postale",
    Exposure.EMAIL: "adresse électronique",
    Exposure.PHONE: "numéro de téléphone",
    Exposure.BLOOD_GROUP: "groupe sanguin",
    Exposure.PRESCRIBER: "médecin prescripteur",
    Exposure.INSURER: "organisme d'assurance maladie ou mutuelle",
    Exposure.MEDICAL_COMMENT: "un commentaire lié à votre santé",
    Exposure.PORTAL_PASSWORD: "mot de passe du portail de résultats",
    Exposure.OTHER_ADMIN: "autres données administratives",
}


def names(mask: int, flag_type: type[enum.IntFlag] = Exposure) -> list[str]:
    """Lower-case names of the flags set in `mask`, in declaration order (e.g. ["identity", "nir"])."""
    return [flag.name.lower() for flag in flag_type if mask & flag]


def mask_of(names_: list[str] | tuple[str, ...], flag_type: type[enum.IntFlag] = Exposure) -> int:
    """Inverse of `names`: raises KeyError on an unknown name."""
    value = 0
    for name in names_:
        value |= flag_type[name.upper()]
    return value
