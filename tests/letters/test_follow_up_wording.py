"""A follow-up's letters and emails say when the patient was first written to, in French and English;
a first notice says nothing of the kind."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html

import pytest

from letters.emails import render_notice_email
from letters.layout import letter_html
from letters.render import render_letter_pdf
from letters.typography import NBSP

from .conftest import pdf_text

FIRST = dt.date(2026, 11, 3)


def _flat(text: str) -> str:
    return " ".join(html.unescape(text).replace(NBSP, " ").split())


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("fr", "Nous vous avons écrit le 3 novembre 2026 au sujet de cette fuite de données."),
        ("en", "We wrote to you on 3 November 2026 about this data breach."),
    ],
)
def test_a_follow_up_letter_says_when_the_patient_was_first_written_to(make_letter, language, sentence):
    # given a letter of a follow-up (its patient first written to on 3 November) and a first letter
    _, first = make_letter(language=language)
    follow_up = dataclasses.replace(first, first_notice_on=FIRST)
    # then only the follow-up says « nous vous avons écrit le … », and the same code is announced
    assert sentence in _flat(letter_html(follow_up, filled=True))
    assert sentence.split(" 3 ")[0] not in _flat(letter_html(first, filled=True))


def test_the_printed_follow_up_letter_carries_the_sentence(make_letter):
    _, letter = make_letter()
    text = " ".join(pdf_text(render_letter_pdf(dataclasses.replace(letter, first_notice_on=FIRST))).split())
    assert "Nous vous avons écrit le 3 novembre 2026" in text.replace(NBSP, " ")


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_follow_up_email_says_when_in_both_languages_and_its_subject_is_a_reminder(language):
    # when a follow-up's notice email is rendered (either language first)
    email = render_notice_email(language=language, status_code="ABCD-EFGH", verification_phrase="zèbre forêt",
                                reference="N2-7-E", lab_name="Laboratoire de la Vilaine", first_notice_on=FIRST)  # fmt: skip
    # then both parts, text and HTML, say when the first notice was sent
    for body in (email.text, email.html):
        flat = _flat(body)
        assert "Nous vous avons écrit le 3 novembre 2026 au sujet de cette fuite de données" in flat
        assert "We wrote to you on 3 November 2026 about this data breach" in flat
    assert "(rappel)" in email.subject and "(reminder)" in email.subject
    # and a first notice says none of it
    first = render_notice_email(language=language, status_code="ABCD-EFGH", verification_phrase="zèbre forêt",
                                reference="N1-7-E", lab_name="Laboratoire de la Vilaine")  # fmt: skip
    assert "vous avons écrit le" not in first.text and "We wrote to you on" not in first.html
    assert "rappel" not in first.subject


def test_the_french_follow_up_email_keeps_french_typography():
    email = render_notice_email(language="fr", status_code="ABCD-EFGH", verification_phrase="p", reference="R",
                                lab_name="Laboratoire de la Vilaine", first_notice_on=FIRST)  # fmt: skip
    french = email.text.split("English version")[0]
    assert " ;" not in french and " :" not in french
