"""French typography in letters and emails: non-breaking spaces, « du Laboratoire », « 1er », phones as dialled."""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest

from letters.emails import render_notice_email
from letters.layout import letter_html
from letters.render import render_letter_pdf
from letters.slots import slot_lines
from letters.typography import NBSP, french_spacing, long_date, of_name, phone_display

from .conftest import PDFTOTEXT

pytestmark = pytest.mark.django_db


def raw_pdf_text(pdf: bytes) -> str:
    """pdftotext's output as is (non-breaking spaces kept)."""
    command = [PDFTOTEXT, "-enc", "UTF-8", "-", "-"]
    return subprocess.run(command, input=pdf, capture_output=True, check=True).stdout.decode()  # noqa: S603


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Objet : vos données", f"Objet{NBSP}: vos données"),
        ("votre mutuelle ; activez", f"votre mutuelle{NBSP}; activez"),
        ("Attention !", f"Attention{NBSP}!"),
        ("Pourquoi?", f"Pourquoi{NBSP}?"),
        ("« zèbre »", f"«{NBSP}zèbre{NBSP}»"),
        # web addresses and times are left alone
        ("Aide : https://www.cnil.fr/a?b=1", f"Aide{NBSP}: https://www.cnil.fr/a?b=1"),
        ("à 10:30", "à 10:30"),
    ],
)
def test_french_spacing_puts_a_non_breaking_space_where_french_typesetting_does(text, expected):
    assert french_spacing(text) == expected
    assert french_spacing(expected) == expected  # twice is the same as once


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Laboratoire de la Vilaine", "du Laboratoire de la Vilaine"),
        ("Clinique du Port", "de la Clinique du Port"),
        ("Institut Pasteur", "de l'Institut Pasteur"),
        ("Le Labo des Halles", "du Labo des Halles"),
        ("Les Laboratoires Réunis", "des Laboratoires Réunis"),
        ("Biolab Ouest", "de Biolab Ouest"),
        ("Unilabs", "d'Unilabs"),
    ],
)
def test_the_laboratory_name_takes_its_article(name, expected):
    assert of_name(name) == expected


def test_the_first_of_the_month_is_written_1er_in_french_only():
    assert long_date(dt.date(2026, 12, 1), "fr") == "1er décembre 2026"
    assert long_date(dt.date(2026, 12, 11), "fr") == "11 décembre 2026"
    assert long_date(dt.date(2026, 12, 1), "en") == "1 December 2026"


@pytest.mark.parametrize(
    ("number", "french", "english"),
    [
        ("+33299112233", "02 99 11 22 33", "+33 2 99 11 22 33"),
        ("02.99.11.22.33", "02 99 11 22 33", "+33 2 99 11 22 33"),
        ("+441632960123", "+44 1632 960123", "+44 1632 960123"),
        ("standard du labo", "standard du labo", "standard du labo"),
    ],
)
def test_phones_read_as_they_are_dialled(number, french, english):
    assert phone_display(number, "fr").replace(NBSP, " ") == french
    assert phone_display(number, "en").replace(NBSP, " ") == english


def test_a_french_letter_reads_du_laboratoire_1er_and_a_national_phone(make_letter, laboratory):
    # given a laboratory with an international phone and a letter dated the first of the month
    laboratory.dpo_phone = "+33998444996"
    laboratory.save()
    _, letter = make_letter()
    letter = letter.__class__(**{**letter.__dict__, "sent_on": dt.date(2026, 12, 1)})
    # when it is rendered
    flat = " ".join(raw_pdf_text(render_letter_pdf(letter)).replace(NBSP, " ").split())
    # then it reads as French is written
    assert "Ce courrier vient du Laboratoire de la Vilaine" in flat
    assert "le 1er décembre 2026" in flat
    assert "09 98 44 49 96" in flat and "+33998444996" not in flat
    # and the colons of the letter are held to their word by a non-breaking space (the PDF's text layer
    # maps that glyph back to a plain space, so the HTML laid out is read)
    html = letter_html(letter, filled=True).replace("&nbsp;", NBSP)
    for label in ("Objet", "Délégué à la protection des données", "Référence", "Code personnel", "Système en cause"):
        assert f"{label}{NBSP}:" in html, label
    assert " :" not in html and " ;" not in html


def test_the_slots_keep_their_non_breaking_spaces(make_letter):
    _, letter = make_letter()
    lines = slot_lines(letter)
    assert lines["reference"][0].startswith(f"Référence{NBSP}: ")
    assert lines["phrase"][0] == f"Phrase de vérification{NBSP}: «{NBSP}phrase de test{NBSP}»"


def test_the_french_email_is_typeset_and_names_du_laboratoire():
    # when the notice email is rendered
    email = render_notice_email(language="fr", status_code="ABCD-EFGH", verification_phrase="zèbre forêt",
                                reference="N1-2-E", lab_name="Laboratoire de la Vilaine", dpo_phone="+33299112233")  # fmt: skip
    french = email.text.split("English version")[0]
    # then its French part has non-breaking spaces, « du Laboratoire » and a national phone
    assert f"Phrase de vérification{NBSP}: «{NBSP}zèbre forêt{NBSP}»" in french
    assert f"Contact{NBSP}:" in french and " :" not in french and " ;" not in french
    assert "vient bien du Laboratoire de la Vilaine" in french
    assert f"02{NBSP}99{NBSP}11{NBSP}22{NBSP}33" in french
    assert (
        email.subject
        == f"Laboratoire de la Vilaine{NBSP}: information sur vos données personnelles / Information about your personal data"
    )
