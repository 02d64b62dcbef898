from __future__ import annotations

import pytest

from patients.categories import Sensitive, names
from patients.classify import classify_comment, classify_comments

# The generator's shared vocabulary, plus variants in other cases, accents and English.
CASES = {
    "pregnancy": [
        "Grossesse 12 SA",
        "patiente enceinte",
        "suivi de grossesse",
        "GROSSESSE",
        "28SA",
        "pregnant, 3rd trimester",
    ],
    "hiv": ["VIH positif", "séropositive, sous traitement", "HIV+", "seropositif", "vih"],
    "cancer": [
        "cancer du sein, chimiothérapie en cours",
        "tumeur - suivi oncologie",
        "CHIMIOTHERAPIE",
        "lymphome",
        "breast cancer",
    ],
    "disability": ["patient sourd, prévenir par SMS", "malentendante", "aveugle", "Sourde", "handicapé", "deaf"],
    "mental_health": ["suivi psychiatrique", "dépression sévère", "DEPRESSION", "schizophrénie"],
    "genetic": ["mucoviscidose (maladie génétique)", "drépanocytose", "Drepanocytose", "genetic disorder"],
    "addiction": ["sevrage alcoolique", "toxicomanie, traitement de substitution", "méthadone"],
    "other_medical": ["à jeun", "prélèvement difficile", "sous anticoagulants", "rappeler sa mère"],
}


@pytest.mark.parametrize(("comment", "expected"), [(text, cls) for cls, texts in CASES.items() for text in texts])
def test_each_comment_gets_its_class(comment, expected):
    # given a leaked comment / when classified / then exactly its class
    assert names(classify_comment(comment), Sensitive) == [expected]


def test_an_empty_or_blank_comment_has_no_class():
    # given / when / then
    assert classify_comment("") == 0
    assert classify_comment("   ") == 0


def test_a_comment_naming_two_conditions_gets_both_and_not_other_medical():
    # given / when
    mask = classify_comment("Grossesse 20 SA, séropositive")
    # then
    assert names(mask, Sensitive) == ["pregnancy", "hiv"]


def test_everyday_words_that_contain_a_stem_do_not_trigger_a_class():
    # given words that contain "sida", "sa", "sourd" inside them
    for comment in ("résidant à Rennes", "sa fille l'accompagne", "prélèvement sourdine"):
        # when / then
        assert names(classify_comment(comment), Sensitive) == ["other_medical"], comment


def test_two_comment_fields_are_two_comments():
    # given a neutral first comment and a sensitive second one
    mask = classify_comments(["à jeun", "VIH positif"])
    # then both classes are kept
    assert names(mask, Sensitive) == ["hiv", "other_medical"]
