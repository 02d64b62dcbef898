"""Fixtures for letter tests: patients built with the shared factories, made-up codes and phrases."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import pytest

from letters.content import letter_data_for
from patients.categories import Exposure
from tests.factories import BreachFactory, LaboratoryFactory, PatientFactory

# A minor is decided by age on the letter date (22 November 2026 here), never by the stored flag.
CHILD_BIRTH = dt.date(2014, 6, 1)
ADULT_BIRTH = dt.date(1970, 5, 17)
PDFTOTEXT = shutil.which("pdftotext") or "/usr/bin/pdftotext"
ALL_CATEGORIES = 0
for _flag in Exposure:
    ALL_CATEGORIES |= int(_flag)


def pdf_text(pdf: bytes) -> str:
    """Text of a PDF as pdftotext (poppler) extracts it, whitespace normalised."""
    command = [PDFTOTEXT, "-enc", "UTF-8", "-", "-"]
    out = subprocess.run(command, input=pdf, capture_output=True, check=True).stdout  # noqa: S603 - fixed argv
    return " ".join(out.decode().split())


@pytest.fixture
def breach(db):
    return BreachFactory(
        slug="fuite-labo",
        title="Des données de patients ont été copiées depuis le logiciel de notre prestataire",
        description="Un fichier de patients a été publié sur Internet.",
        processor="Éditeur du logiciel de laboratoire",
    )


@pytest.fixture
def laboratory(db):
    return LaboratoryFactory(code="LAB-VIL", name="Laboratoire de la Vilaine", dpo_email="dpo@vilaine.example")


@pytest.fixture
def make_letter(breach, laboratory):
    """Build (patient, LetterData) with a made-up code; keyword arguments go to PatientFactory."""

    def make(*, language: str = "fr", code: str = "TEST-CODE-42", **patient_fields):
        patient = PatientFactory(breach=breach, laboratory=laboratory, **patient_fields)
        letter = letter_data_for(
            patient=patient,
            reference=f"REF-{patient.pk:06d}",
            status_code=code,
            verification_phrase="phrase de test",
            language=language,
            sent_on=dt.date(2026, 11, 22),
        )
        return patient, letter

    return make


@pytest.fixture
def mocker_fetch(monkeypatch):
    """Record every URL WeasyPrint asks the letters' fetcher for (the fetcher still decides)."""
    from letters.fetcher import StaticOnlyURLFetcher

    asked: list[str] = []
    original = StaticOnlyURLFetcher.fetch

    def recording(self, url, headers=None):
        asked.append(url)
        return original(self, url, headers)

    monkeypatch.setattr(StaticOnlyURLFetcher, "fetch", recording)
    return asked
