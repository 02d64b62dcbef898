"""The recipient block as La Poste reads it (AFNOR NF Z10-011): 6 lines of 38 characters at most, the
complement on its own line, wrapped before anything is cut; what cannot fit is listed on the preview."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from letters.address import MAX_CHARS, MAX_LINES, address_parts, postal_block
from letters.content import letter_data_for
from letters.render import render_letter_pdf
from letters.selectors import addresses_that_cannot_fit
from letters.slots import address_lines, letter_postal_block
from patients.models import Patient
from patients.services import leak_import
from patients.synthetic import leak_generate
from tests.factories import BreachFactory, PatientFactory

from .conftest import CHILD_BIRTH, pdf_text

pytestmark = pytest.mark.django_db

LETTER_DAY = dt.date(2026, 11, 22)
LONG_WITH_COMPLEMENT = "127 boulevard du Maréchal de Lattre de Tassigny Résidence Les Tilleuls Bât. B Appt 12"


def test_the_complement_glued_to_the_street_gets_its_own_line_before_the_street(make_letter):
    # given the leak's one address field, complement glued after the street (two columns joined)
    _, letter = make_letter(
        first_name="Thierry", last_name="Morvan", civility="M", address_line="802, rue Besson Bât. B"
    )
    # when the block is laid out
    lines = address_lines(letter)
    # then the building is line 3 and the street line 4, with no comma after the number
    assert lines == ["M. Thierry MORVAN", "Bât. B", "802 rue Besson", "56000 VANNES"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Appt 12 62, chemin Antoine Maury", {2: ["Appt 12"], 4: ["62 chemin Antoine Maury"]}),
        ("boulevard Voisin Escalier C, 3e étage", {4: ["boulevard Voisin"], 2: ["Escalier C", "3e étage"]}),
        ("30, rue de Gautier Résidence Les Tilleuls", {4: ["30 rue de Gautier"], 3: ["Résidence Les Tilleuls"]}),
        ("avenue de Gauthier Lieu-dit Kerlann", {4: ["avenue de Gauthier"], 5: ["Lieu-dit Kerlann"]}),
        ("802, rue Besson BP 42", {4: ["802 rue Besson"], 5: ["BP 42"]}),
        ("Bât. B; 2e étage 426, avenue Inès Perrin", {3: ["Bât. B"], 2: ["2e étage"], 4: ["426 avenue Inès Perrin"]}),
        ("Les Jardins d'Arcadie 12 rue des Lilas", {3: ["Les Jardins d'Arcadie"], 4: ["12 rue des Lilas"]}),
        # words of a street's own name are not complements
        ("12 rue de la Résidence", {4: ["12 rue de la Résidence"]}),
        ("5 rue du 8 Mai 1945", {4: ["5 rue du 8 Mai 1945"]}),
    ],
)
def test_each_part_of_an_address_is_found_by_its_keyword(raw, expected):
    assert address_parts([raw]) == expected


def test_a_long_street_takes_la_postes_abbreviations_and_its_complements_their_own_lines(make_letter):
    # given a long street with a residence, a building and an apartment
    _, letter = make_letter(civility="Mme", first_name="Marie-Hélène", last_name="Le Bihan-Kerouac",
                            address_line=LONG_WITH_COMPLEMENT, postcode="35000", city="Rennes")  # fmt: skip
    # when the block is laid out
    block = letter_postal_block(letter)
    # then it fits, the street on one line thanks to the norm's abbreviations, nothing cut
    assert block.fits and "…" not in "".join(block.lines)
    assert block.lines == (
        "Mme Marie-Hélène LE BIHAN-KEROUAC",
        "Appt 12",
        "Résidence Les Tilleuls Bât. B",
        "127 bd du Mal de Lattre de Tassigny",
        "35000 RENNES",
    )


def test_a_street_too_long_even_abbreviated_wraps_onto_the_next_free_line_whole_words_kept():
    # given a street that no abbreviation brings under 38 characters
    street = "12 rue des Très Longues Promenades du Vieux Port de Kerlann"
    block = postal_block(recipient=["Mme Anne LE GALL"], address=[street], postcode="56000", city="Vannes")
    # then it goes on two lines, word for word, and is not cut
    assert block.fits
    assert block.lines == (
        "Mme Anne LE GALL",
        "12 rue des Très Longues Promenades du",
        "Vieux Port de Kerlann",
        "56000 VANNES",
    )
    assert all(len(line) <= MAX_CHARS for line in block.lines)


def test_a_guardians_block_keeps_to_38_characters_a_line(make_letter):
    # given a child
    _, letter = make_letter(
        birth_date=CHILD_BIRTH, first_name="Léo", last_name="Morvan", address_line="Appt 3 1 rue Haute"
    )
    for language in ("fr", "en"):
        # when the block is laid out in each language
        lines = address_lines(letter_data_for(patient=Patient.objects.get(), reference="R", status_code="C",
                                              verification_phrase="p", language=language, sent_on=LETTER_DAY))  # fmt: skip
        # then the guardians' line fits La Poste's 38 characters
        assert max(len(line) for line in lines) <= MAX_CHARS, lines
    assert address_lines(letter)[:2] == ["Aux parents ou représentant légal de", "Léo MORVAN"]


def test_the_town_line_takes_la_postes_abbreviations_only_when_it_must():
    # given a short town name, a long one, and one too long even abbreviated
    short = postal_block(recipient=["M. A B"], address=["1 rue X"], postcode="35000", city="Saint-Malo")
    long = postal_block(
        recipient=["M. A B"], address=["1 rue X"], postcode="35000", city="Sainte-Marie-de-la-Mer-sur-Vilaine"
    )
    longest = postal_block(
        recipient=["M. A B"], address=["1 rue X"], postcode="35000", city="Saint-Georges-de-la-Sainte-Chapelle-des-Bois"
    )
    # then the short one keeps its name, the long one is abbreviated the way La Poste does, on one line
    assert short.lines[-1] == "35000 SAINT-MALO" and short.fits
    assert long.lines[-1] == "35000 STE-MARIE-DE-LA-MER-SUR-VILAINE" and long.fits
    # and a town line is never split over two lines: the one that cannot fit is marked
    assert not longest.fits and longest.lines[-1].startswith("35000 ST-GEORGES") and len(longest.lines[-1]) <= 38


def test_an_address_that_cannot_fit_is_marked_and_then_only_cut():
    # given an address with far too many parts for six lines
    raw = "Résidence " + "Les Grands Chênes " * 8 + "12 rue de la Paix Lieu-dit Kerlann"
    block = postal_block(recipient=["Mme Anne LE GALL"], address=[raw], postcode="56000", city="Vannes")
    # then it is marked as not fitting; what prints keeps the recipient, the street and the town
    assert not block.fits
    assert len(block.lines) <= MAX_LINES and all(len(line) <= MAX_CHARS for line in block.lines)
    assert (
        block.lines[0] == "Mme Anne LE GALL"
        and "12 rue de la Paix" in block.lines
        and block.lines[-1] == "56000 VANNES"
    )


def test_no_address_line_of_a_generated_leak_is_longer_than_38_characters(tmp_path):
    # given a synthetic leak of 3,000 rows imported into a breach
    path = tmp_path / "leak.csv"
    leak_generate(path=path, rows=3000, labs=3, seed=11)
    breach = BreachFactory(slug="fuite-adresses")
    leak_import(path=path, breach=breach, rejects_path=tmp_path / "rejects.csv", allow_new_laboratories=True)
    patients = list(
        Patient.objects.filter(breach=breach).exclude(address_line="").select_related("laboratory", "breach")
    )
    assert len(patients) > 500
    # when every patient's letter is laid out, in French and in English
    blocks = [
        letter_postal_block(
            letter_data_for(
                patient=p,
                reference=f"R{p.pk}",
                status_code="C",
                verification_phrase="p",
                language=language,
                sent_on=LETTER_DAY,
            )
        )  # fmt: skip
        for p in patients
        for language in ("fr", "en")
    ]
    # then no line is longer than 38 characters, none is cut, and no block has more than 6 lines
    lines = [line for block in blocks for line in block.lines]
    assert [line for line in lines if len(line) > MAX_CHARS] == []
    assert [line for line in lines if "…" in line] == []
    assert max(len(block.lines) for block in blocks) <= MAX_LINES and all(block.fits for block in blocks)
    # and the complements the generator writes sit on their own lines
    complements = [line for line in lines if line.startswith(("Bât. B", "Appt 12", "Lieu-dit Kerlann", "BP 42"))]
    assert len(complements) > 50


def test_the_preview_lists_the_addresses_that_cannot_fit_with_their_count(client, login_verified, dpo_lab_a, lab_a):
    # given two patients whose address cannot fit, and one whose can
    breach = BreachFactory(slug="fuite-fenetre")
    too_long = "Résidence " + "Les Grands Chênes " * 8 + "12 rue de la Paix"
    for first_name in ("Anne", "Paul"):
        PatientFactory(breach=breach, laboratory=lab_a, first_name=first_name, address_line=too_long)
    PatientFactory(breach=breach, laboratory=lab_a, first_name="Yves", address_line="3 place du Marché")
    assert len(addresses_that_cannot_fit(breach=breach, laboratory=lab_a)) == 2
    login_verified(client, dpo_lab_a)
    # when the DPO opens the letters preview
    response = client.get(reverse("letters:preview", args=[breach.pk, lab_a.pk]))
    # then the page says how many, in French, and lists them
    body = response.content.decode()
    assert response.status_code == 200
    assert "2 adresses</strong> ne tiennent pas en 6 lignes de 38 caractères" in body
    assert "Anne" in body and "Paul" in body and "Yves" not in body.split('id="adresses"')[1].split('id="courriels"')[0]


def test_a_letter_prints_its_complement_on_its_own_line(make_letter):
    # given a patient whose complement is glued to the street
    _, letter = make_letter(
        civility="M", first_name="Thierry", last_name="Morvan", address_line="802, rue Besson Bât. B"
    )
    # when the letter is rendered, then the window reads the complement, then the street
    text = pdf_text(render_letter_pdf(letter))
    assert "M. Thierry MORVAN Bât. B 802 rue Besson 56000 VANNES" in text
