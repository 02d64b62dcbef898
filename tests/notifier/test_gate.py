"""The launch gate (Art. 34(2) checklist), counts per channel, and patients already told by another campaign."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from labs.models import BreachLaboratory, BreachMeasure, PublicCommunication
from notifier import campaigns, gate, launch, targets
from notifier.models import Campaign, Notification
from tests.factories import LaboratoryFactory, case_file_complete

pytestmark = pytest.mark.django_db


def launched(campaign, by, capture):
    with capture(execute=False):
        return launch.campaign_launch(campaign=campaign, by=by)


@pytest.fixture
def bare_breach(breach):
    """A breach with a title only: no plain-language description, no period (what the issue found)."""
    breach.description, breach.period_start, breach.period_end = "", None, None
    breach.save()
    return breach


def test_a_breach_with_a_title_only_and_a_lab_without_dpo_lists_every_missing_element(
    bare_breach, make_campaign, laboratory
):
    # given a laboratory with no DPO contact and no Art. 33 case file
    laboratory.dpo_name = laboratory.dpo_email = laboratory.dpo_phone = ""
    laboratory.save()
    campaign = make_campaign(approve=False, facts=False)
    # when the gate is read
    missing = gate.launch_checklist(campaign)
    # then every element is named, each in French, each saying where it is completed
    assert [(m.code, m.where) for m in missing] == [
        ("description", "breach"),
        ("period", "breach"),
        ("dpo_contact", "laboratory"),
        ("case_file", "breach"),
    ]
    assert "Ce qui s'est passé" in missing[0].message and "délégué à la protection" in missing[2].message


def test_approval_is_refused_with_one_french_line_per_missing_element_and_stays_a_draft(
    bare_breach, make_campaign, approver, laboratory
):
    # given a case file with nothing in it
    BreachLaboratory.objects.create(breach=bare_breach, laboratory=laboratory, aware_at=bare_breach.aware_at)
    campaign = make_campaign(approve=False, facts=False)
    # when the second person approves
    with pytest.raises(campaigns.LaunchGateRefused) as refused:
        campaigns.campaign_approve(campaign=campaign, by=approver)
    # then the message lists, one line each, what the letter cannot say yet
    lines = str(refused.value).splitlines()
    assert lines[0].startswith("Approbation refusée")
    assert [m.code for m in refused.value.missing] == [
        "description", "period", "measures", "consequences", "high_risk",
    ]  # fmt: skip
    assert len(lines) == 1 + 5 and all(line.startswith("— ") for line in lines[1:])
    # and nothing moved: still a draft, no approver, no "approve" in the trail
    campaign.refresh_from_db()
    assert (campaign.status, campaign.approved_by) == (Campaign.Status.DRAFT, None)
    assert [e.extra["campaign_action"] for e in campaigns.campaign_trail_events(campaign)] == ["create"]


def test_a_laboratory_whose_dpo_contact_went_missing_after_approval_cannot_launch(
    make_patients, make_campaign, approver, laboratory, django_capture_on_commit_callbacks
):
    # given an approved campaign with patients, then the laboratory's DPO contact emptied
    make_patients(3)
    campaign = make_campaign()
    laboratory.dpo_email = laboratory.dpo_phone = ""
    laboratory.save()
    # when it is launched, then it is refused and nothing was written
    with pytest.raises(campaigns.LaunchGateRefused, match="Lancement refusée|délégué"):
        launched(campaign, approver, django_capture_on_commit_callbacks)
    assert not Notification.objects.exists()
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.APPROVED
    # and with a phone only, it goes
    laboratory.dpo_phone = "02 99 00 00 00"
    laboratory.save()
    assert launched(campaign, approver, django_capture_on_commit_callbacks)["patients"] == 3


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, ["high_risk"]),  # undecided
        ({"high_risk": "yes"}, ["high_risk"]),  # yes, not justified
        ({"high_risk": "yes", "high_risk_justification": "NIR et santé"}, []),
        ({"high_risk": "no", "high_risk_justification": "chiffré"}, ["high_risk"]),
        ({"exemption": "b"}, ["exemption_justification"]),
        ({"exemption": "b", "exemption_justification": "mots de passe changés"}, []),
        ({"exemption": "c", "exemption_justification": "adresses inconnues"}, ["public_notice"]),
        (
            {"exemption": "c", "exemption_justification": "adresses inconnues", "published": "site web"},
            [],
        ),
    ],
)  # fmt: skip
def test_the_high_risk_decision_is_yes_justified_or_an_art_34_3_ground(
    fields, expected, make_campaign, breach, laboratory
):
    # given a case file complete but for the decision, then the decision under test
    case_file = case_file_complete(breach=breach, laboratory=laboratory)
    fields = dict(fields)
    if fields.pop("published", None):
        PublicCommunication.objects.create(case_file=case_file, published_at=dt.datetime(2021, 3, 1, tzinfo=dt.UTC),
                                           medium="website", url="https://labo.example/avis", text="Avis")  # fmt: skip
    decision = {"high_risk": "undecided", "high_risk_justification": "", **fields}
    BreachLaboratory.objects.filter(pk=case_file.pk).update(**decision)
    campaign = make_campaign(approve=False, facts=False)
    # then
    assert [m.code for m in gate.launch_checklist(campaign)] == expected


def test_a_period_that_ends_before_it_starts_is_refused_by_the_gate_and_the_form(make_campaign, breach):
    breach.period_start, breach.period_end = dt.date(2021, 1, 1), dt.date(2020, 1, 1)
    breach.save()
    campaign = make_campaign(approve=False)
    assert [m.code for m in gate.launch_checklist(campaign)] == ["period"]
    with pytest.raises(ValidationError, match="se termine avant de commencer"):
        breach.full_clean()


def test_the_forecast_counts_letters_emails_and_unreachable_as_the_launch_then_creates(
    make_patients, make_campaign, approver, django_capture_on_commit_callbacks
):
    # given 3 patients reachable both ways, 1 by post only, 1 by email only, 1 by neither
    make_patients(3)
    make_patients(1, email="")
    make_patients(1, address_line="")
    make_patients(1, email="", postcode="")
    campaign = make_campaign("post_and_email")
    # when the forecast is read, nothing is written
    forecast = targets.launch_forecast(campaign)
    assert not Notification.objects.exists()
    # then it says what the launch then creates
    counts = launched(campaign, approver, django_capture_on_commit_callbacks)
    assert forecast == targets.LaunchForecast(patients=6, excluded=0, post=4, email=4, unreachable=1)
    assert (counts["patients"], counts["post"], counts["email"], counts["unreachable"]) == (6, 4, 4, 1)


def test_patients_told_by_another_campaign_are_excluded_unless_it_is_a_follow_up(
    make_patients, make_campaign, approver, django_capture_on_commit_callbacks
):
    # given 3 patients told by a first campaign, then 2 patients imported later
    make_patients(3)
    first = make_campaign("post")
    launched(first, approver, django_capture_on_commit_callbacks)
    make_patients(2)
    # when a second, ordinary campaign is prepared
    second = make_campaign("post")
    # then its forecast and its launch leave the 3 out
    assert targets.launch_forecast(second) == targets.LaunchForecast(
        patients=2, excluded=3, post=2, email=0, unreachable=0
    )
    counts = launched(second, approver, django_capture_on_commit_callbacks)
    assert (counts["patients"], counts["excluded"]) == (2, 3)
    assert Notification.objects.filter(campaign=second).count() == 2
    # and a follow-up writes to all 5 again
    follow_up = make_campaign("post", is_follow_up=True)
    assert targets.launch_forecast(follow_up).patients == 5
    assert launched(follow_up, approver, django_capture_on_commit_callbacks)["patients"] == 5


def test_the_patients_of_a_cancelled_campaign_are_not_counted_as_told(
    make_patients, make_campaign, approver, django_capture_on_commit_callbacks
):
    # given a postal campaign launched then cancelled before its letters left
    make_patients(2)
    first = make_campaign("post")
    launched(first, approver, django_capture_on_commit_callbacks)
    campaigns.campaign_cancel(campaign=first, by=approver)
    # then the next campaign writes to them
    assert targets.launch_forecast(make_campaign("post")).excluded == 0


def test_a_patient_of_another_laboratory_never_counts(make_patients, make_campaign, breach):
    from tests.factories import PatientFactory

    make_patients(2)
    PatientFactory.create_batch(4, breach=breach, laboratory=LaboratoryFactory(code="VOISIN"))
    assert targets.launch_forecast(make_campaign("post")).patients == 2


# --- the command says the same -------------------------------------------------------------------------
def test_the_command_refuses_approval_and_launch_with_the_list_of_what_is_missing(
    bare_breach, make_campaign, approver, laboratory, make_patients
):
    # given a draft with no facts, and an approved campaign whose breach lost its description afterwards
    make_patients(1)
    draft = make_campaign(approve=False, facts=False)
    # when approved from the command line, then a CommandError lists each element on its own line
    with pytest.raises(CommandError) as refused:
        call_command("campaign", "approve", str(draft.pk), "--by", approver.username, stdout=StringIO())
    message = str(refused.value)
    assert message.startswith("Approbation refusée")
    assert "— Ce qui s'est passé" in message and "— Quand" in message and "— Dossier art. 33" in message
    # and launch says the same once the facts are gone again
    bare_breach.description, bare_breach.period_start, bare_breach.period_end = "Copie du fichier.", None, None
    bare_breach.save()
    case_file_complete(breach=bare_breach, laboratory=laboratory)
    bare_breach.period_start, bare_breach.period_end = dt.date(2015, 1, 1), dt.date(2020, 1, 1)
    bare_breach.save()
    call_command("campaign", "approve", str(draft.pk), "--by", approver.username, stdout=StringIO())
    BreachMeasure.objects.all().delete()
    with pytest.raises(CommandError, match="Lancement refusée(.|\n)*— Ce que nous avons fait"):
        call_command("campaign", "launch", str(draft.pk), "--by", approver.username, stdout=StringIO())
    assert Campaign.objects.get(pk=draft.pk).status == Campaign.Status.APPROVED


def test_the_period_the_gate_asks_for_is_the_one_the_letter_prints(make_patients, breach):
    from letters.content import letter_data_for

    # given the breach's period, as the gate requires it
    breach.period_start, breach.period_end = dt.date(2015, 3, 1), dt.date(2020, 6, 30)
    breach.save()
    (patient,) = make_patients(1)
    # then the letter's "when" is that period
    data = letter_data_for(patient=patient, reference="N1-1-C", status_code="X", verification_phrase="a b c")
    assert data.breach_period == "01/03/2015 – 30/06/2020"


def test_an_english_campaign_waits_for_the_english_texts_it_would_print_in_french(make_campaign, breach):
    # given an English campaign whose breach and measures have no English version
    campaign = make_campaign(language="en", approve=False)
    codes = [item.code for item in gate.launch_checklist(campaign)]
    assert codes.count("english") >= 2
    # when the breach's title and description and every measure get their English text
    breach.title_en, breach.description_en = "Data breach", "A file of patients' data was copied."
    breach.save()
    for measure in BreachMeasure.objects.filter(case_file__breach=breach):
        measure.text_en = "Access cut."
        measure.save()
    # then nothing is missing any more
    assert "english" not in [item.code for item in gate.launch_checklist(campaign)]


def test_a_french_campaign_never_asks_for_english_texts(make_campaign):
    campaign = make_campaign(approve=False)
    assert "english" not in [item.code for item in gate.launch_checklist(campaign)]
