"""The notice email's three wordings: a letter is also coming / email only / sent because the letter came back."""

from __future__ import annotations

import pytest

from letters.emails import WORDINGS, render_notice_email

SAYS = {
    "letter_also": {
        "fr": "Un courrier vous est aussi adressé par la poste avec le détail",
        "en": "A letter with the details is also on its way by post",
    },
    "email_only": {
        "fr": "Vous recevez cette information par courriel seulement, sans courrier par la poste.",
        "en": "You receive this information by email only, with no letter by post.",
    },
    "letter_returned": {
        "fr": "Le courrier que nous vous avons adressé par la poste nous est revenu",
        "en": "The letter we sent you by post came back to us, so we are writing to you by email.",
    },
}


def render(language: str, wording: str):
    return render_notice_email(language=language, status_code="ABCD-EFGH", verification_phrase="zèbre forêt",
                               reference="N1-2-E", lab_name="Laboratoire de la Vilaine", wording=wording)  # fmt: skip


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("wording", WORDINGS)
def test_each_wording_says_its_own_sentence_in_both_languages_and_no_other(language, wording):
    # when the email is rendered with this wording
    email = render(language, wording)
    # then its text and HTML carry this wording's French and English sentences, and no other wording's
    for part in (flat(email.text), flat(email.html.replace("&nbsp;", " ").replace("&#x27;", "'"))):
        for name, sentences in SAYS.items():
            for sentence in sentences.values():
                assert (flat(sentence.replace("\u00a0", " ")) in part.replace("\u00a0", " ")) == (name == wording)


@pytest.mark.parametrize("wording", ["email_only", "letter_returned"])
def test_without_a_letter_the_email_never_mentions_the_phrase_on_the_letter(wording):
    email = render("fr", wording)
    assert "La même phrase figure sur le courrier postal" not in email.text
    assert "The same phrase is printed on the postal letter" not in email.text
    assert "zèbre forêt" in email.text  # the phrase is still there


@pytest.mark.parametrize("wording", WORDINGS)
def test_every_wording_stays_neutral(wording):
    email = render("fr", wording)
    for word in ("VIH", "HIV", "cancer", "grossesse", "pregnancy", "résultat d'analyse", "href", "#ABCD"):
        assert word not in email.text + email.html


def test_an_unknown_wording_is_a_clear_french_error():
    with pytest.raises(ValueError, match="Formulation de courriel inconnue"):
        render("fr", "carrier_pigeon")
