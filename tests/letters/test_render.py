"""What a patient reads: every block, in order, in their language, and nothing that must not be there."""

from __future__ import annotations

import html
import re
import subprocess

import pytest

from letters.render import render_letter_pdf, render_letter_pdf_plain
from letters.slots import slot_lines
from letters.wording import exposure_labels
from patients.categories import Exposure

from .conftest import ADULT_BIRTH, ALL_CATEGORIES, CHILD_BIRTH, PDFTOTEXT, pdf_text

pytestmark = pytest.mark.django_db

BLOCKS = {
    "fr": [
        "1. Ce qui s'est passé",
        "2. Les données",
        "3. Les risques",
        "4. Ce que nous avons fait",
        "5. Ce que vous pouvez faire",
        "6. Nous contacter",
        "7. Vérifier que cette lettre est authentique",
    ],
    "en": [
        "1. What happened",
        "2. Which of",
        "3. The risks",
        "4. What we did",
        "5. What you can do",
        "6. Contact us",
        "7. Check that this letter is genuine",
    ],
}
CONDITION_WORDS = [
    "VIH", "HIV", "sida", "grossesse", "enceinte", "pregnan", "cancer", "tumeur", "tumour", "sourd", "deaf",
    "diabète", "handicap", "psychiatr", "génétique", "genetic", "séropositi", "addiction",
]  # fmt: skip
MINIMAL = int(Exposure.IDENTITY | Exposure.POSTAL_ADDRESS)
SPREAD = [
    ("fr", False, ALL_CATEGORIES),
    ("fr", True, ALL_CATEGORIES),
    ("en", False, ALL_CATEGORIES),
    ("en", True, MINIMAL | int(Exposure.MEDICAL_COMMENT)),
    ("fr", False, MINIMAL),
]


@pytest.mark.parametrize(("language", "minor", "mask"), SPREAD)
def test_letter_has_every_block_in_order_and_the_patients_own_data(make_letter, language, minor, mask):
    # given a patient with some exposed categories
    _, letter = make_letter(
        language=language, birth_date=CHILD_BIRTH if minor else ADULT_BIRTH, exposure_mask=mask, sensitive_mask=0b11
    )
    # when their letter is rendered
    text = pdf_text(render_letter_pdf(letter))
    # then the 7 blocks come in order
    positions = [text.find(heading) for heading in BLOCKS[language]]
    assert -1 not in positions, positions
    assert positions == sorted(positions)
    # and block 2 lists exactly their categories, in words
    block_2 = text[positions[1] : positions[2]]
    for flag in Exposure:
        if minor and flag == Exposure.MEDICAL_COMMENT:
            continue  # a guardian's letter never says whether there was one (test_minors.py)
        label = exposure_labels(int(flag), language, minor=minor)[0]
        assert (label in block_2) == bool(mask & flag), label
    # and carries the reference, code, phrase, status page and DPO contact
    for expected in (letter.reference, "TEST-CODE-42", "phrase de test", letter.status_url, letter.dpo_email):
        assert expected in text
    if mask & Exposure.NIR:
        assert letter.nir_masked in text


@pytest.mark.parametrize(("language", "minor", "mask"), SPREAD)
def test_letter_never_names_a_condition_a_full_nir_or_a_password(make_letter, language, minor, mask):
    # given a patient whose leaked comment was classified as sensitive (all classes)
    _, letter = make_letter(
        language=language, birth_date=CHILD_BIRTH if minor else ADULT_BIRTH, exposure_mask=mask, sensitive_mask=0xFF
    )
    # when the letter is rendered
    text = pdf_text(render_letter_pdf(letter))
    # then no condition word, no 13+ digit number (a NIR), no password value appears
    lowered = text.lower()
    assert [word for word in CONDITION_WORDS if word.lower() in lowered] == []
    assert re.search(r"\d(?:\s?\d){12,}", text) is None
    assert "mot de passe :" not in lowered and "password:" not in lowered
    mentions_comment = ("un commentaire lié à" in text) or ("a comment related to" in text)
    assert mentions_comment == bool(mask & Exposure.MEDICAL_COMMENT and not minor)


def test_portal_password_advice_appears_only_when_the_password_leaked(make_letter):
    # given two patients, one whose results-portal password leaked
    _, leaked = make_letter(exposure_mask=MINIMAL | int(Exposure.PORTAL_PASSWORD))
    _, safe = make_letter(exposure_mask=MINIMAL)
    # when both letters are rendered
    leaked_text, safe_text = pdf_text(render_letter_pdf(leaked)), pdf_text(render_letter_pdf(safe))
    # then only the first tells to change that password
    assert "Changez dès maintenant le mot de passe" in leaked_text
    assert "Changez dès maintenant le mot de passe" not in safe_text


def test_minor_letter_is_addressed_to_the_parents_or_guardian(make_letter):
    # given a child patient (12 on the letter date; the leak's civility says "enfant")
    _, letter = make_letter(birth_date=CHILD_BIRTH, civility="enfant", first_name="Léo", last_name="Morvan")
    # when the letter is rendered
    text = pdf_text(render_letter_pdf(letter))
    # then it is addressed to the parents, names the child, and speaks of "votre enfant"
    assert "Aux parents ou représentant légal de Léo MORVAN" in text
    assert "enfant Léo" not in text
    assert "de votre enfant" in text


def test_english_letter_speaks_english(make_letter):
    # given a patient who reads English
    _, letter = make_letter(language="en", birth_date=CHILD_BIRTH)
    # when rendered
    text = pdf_text(render_letter_pdf(letter))
    # then the letter is in English, including the guardian line
    assert "To the parents or legal guardian of" in text
    assert "Dear Sir or Madam" in text and "Madame, Monsieur" not in text


@pytest.mark.parametrize(("language", "minor", "mask"), [SPREAD[0], SPREAD[3]])
def test_fast_path_and_plain_weasyprint_path_extract_to_the_same_text(make_letter, language, minor, mask):
    # given a patient
    _, letter = make_letter(
        language=language, birth_date=CHILD_BIRTH if minor else ADULT_BIRTH, exposure_mask=mask, first_name="Zoë-Anaïs"
    )
    # when the letter is rendered by the stamped fast path and wholly by WeasyPrint
    fast, plain = render_letter_pdf(letter), render_letter_pdf_plain(letter)
    # then both extract to the same text
    assert pdf_text(fast) == pdf_text(plain)
    assert "Zoë-Anaïs" in pdf_text(fast)


def _word_boxes(pdf: bytes) -> dict[str, tuple[float, float]]:
    """(left, top) in pt of each word's first occurrence, as poppler places it."""
    command = [PDFTOTEXT, "-bbox", "-enc", "UTF-8", "-", "-"]
    out = subprocess.run(command, input=pdf, capture_output=True, check=True).stdout.decode()  # noqa: S603
    boxes: dict[str, tuple[float, float]] = {}
    for x_min, y_min, word in re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>([^<]*)</word>', out):
        boxes.setdefault(html.unescape(word), (float(x_min), float(y_min)))
    return boxes


def test_the_fast_path_starts_each_personal_line_where_weasyprint_puts_it(make_letter):
    # given a patient whose letter shows every slot (NIR included)
    _, letter = make_letter(exposure_mask=ALL_CATEGORIES, last_name="Kerjean")
    first_words = {name: lines[0].split()[0] for name, lines in slot_lines(letter).items()}
    # when it is rendered by the stamped fast path and wholly by WeasyPrint
    fast, plain = _word_boxes(render_letter_pdf(letter)), _word_boxes(render_letter_pdf_plain(letter))
    # then each slot's first word starts at the same place (later words may drift by kerning, < 1 pt)
    for name, word in first_words.items():
        assert word in fast and word in plain, (name, word)
        dx, dy = fast[word][0] - plain[word][0], fast[word][1] - plain[word][1]
        assert abs(dx) < 0.05 and abs(dy) < 0.05, (name, word, dx, dy)
