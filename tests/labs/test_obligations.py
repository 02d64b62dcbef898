"""Obligations per regime: clocks across daylight-saving changes, the four-eyes "not required", filing, lateness,
triage and reminders (labs/obligations.py, obligation_states.py, obligation_services.py)."""

import copy
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from labs.models import AuthorityNotification, BreachLaboratory, DeadlineReminder, Obligation
from labs.obligation_services import obligation_approve, obligation_assess, obligation_file, obligations_open
from labs.obligation_states import ObligationState, obligation_clocks, obligation_state
from labs.services import case_file_people_informed_record, case_files_sync, cnil_filing_record
from labs.tasks import deadline_reminders_send_task
from tests.access_fixtures import make_staff
from tests.factories import BreachFactory, PatientFactory

from .helpers import complete_case_file

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
# Saturday before the spring change (Sunday 29 March 2026, 02:00 → 03:00): 10:00 Paris is 09:00 UTC. In UTC, so
# that `+ timedelta` below counts real hours (Python adds wall-clock time to a Europe/Paris datetime).
SPRING_AWARE = dt.datetime(2026, 3, 28, 9, 0, tzinfo=dt.UTC)


def paris(moment):
    return moment.astimezone(PARIS).replace(tzinfo=None)


@pytest.fixture
def regimes(settings):
    """The regimes as configured, editable per test (a deep copy: settings are restored afterwards)."""
    settings.NOTIFIER_REGIMES = copy.deepcopy(settings.NOTIFIER_REGIMES)
    return settings.NOTIFIER_REGIMES


@pytest.fixture
def nis2_on(regimes):
    regimes["nis2"]["enabled"] = True
    return regimes


def _case_file(lab, aware_at=SPRING_AWARE):
    case_file = BreachLaboratory.objects.create(
        breach=BreachFactory(aware_at=aware_at), laboratory=lab, aware_at=aware_at
    )
    obligations_open(case_file=case_file)
    return case_file


def _obligation(case_file, regime):
    return Obligation.objects.select_related("case_file").get(case_file=case_file, regime=regime)


def _clocks(case_file, regime):
    return {c.step: c for c in obligation_clocks(_obligation(case_file, regime))}


# --- triage --------------------------------------------------------------------------------------------
def test_triage_opens_one_obligation_per_enabled_regime_and_nis2_only_once_enabled(lab_a, regimes):
    # given a breach with patients of laboratory A
    breach = BreachFactory(aware_at=SPRING_AWARE)
    PatientFactory(breach=breach, laboratory=lab_a)
    # when the case files are synced, twice
    case_files_sync(breach=breach)
    case_files_sync(breach=breach)
    # then the case file has the three default regimes, "to assess", NIS2 off
    case_file = BreachLaboratory.objects.get(breach=breach)
    assert set(case_file.obligations.values_list("regime", "assessment")) == {
        ("cnil_art33", "to_assess"), ("art34", "to_assess"), ("ars_cert_sante", "to_assess"),
    }  # fmt: skip
    # and once NIS2 is enabled, a re-run opens it and only it
    regimes["nis2"]["enabled"] = True
    case_files_sync(breach=breach)
    assert case_file.obligations.count() == 4


# --- each regime's clock, across a daylight-saving change ----------------------------------------------------
def test_the_cnil_clock_is_72_elapsed_hours_across_the_spring_change_and_the_case_files_own(lab_a):
    # given awareness on Saturday 28 March 2026 10:00 Paris (UTC+1)
    case_file = _case_file(lab_a)
    # when the CNIL obligation's clock is read
    clock = _clocks(case_file, "cnil_art33")["initial"]
    # then it is due 72 real hours later: Tuesday 31 March 11:00 Paris (UTC+2), the case file's due time
    assert clock.due_at - SPRING_AWARE == dt.timedelta(hours=72)
    assert paris(clock.due_at) == dt.datetime(2026, 3, 31, 11, 0)
    assert clock.due_at == case_file.due_at and not clock.is_target


def test_the_cnil_hours_are_configurable(lab_a, settings, regimes):
    # given a 96-hour rule (the Digital Omnibus proposal) in the settings
    settings.CNIL_DEADLINE_HOURS = 96
    regimes["cnil_art33"]["steps"][0]["hours"] = 96
    # when a case file is opened, then its CNIL obligation is due 96 hours after awareness
    clock = _clocks(_case_file(lab_a), "cnil_art33")["initial"]
    assert clock.due_at - SPRING_AWARE == dt.timedelta(hours=96)


def test_art34_has_no_invented_deadline_and_follows_the_campaigns(lab_a):
    # given a case file, Art. 34 required
    case_file = _case_file(lab_a)
    dpo = make_staff("dpo-34", role="DPO", laboratories=[lab_a])
    obligation_assess(obligation=_obligation(case_file, "art34"), required=True, by=dpo)
    # then its clock has no due time (« sans délai »)
    assert _clocks(case_file, "art34")["communication"].due_at is None
    now = SPRING_AWARE + dt.timedelta(days=3)
    assert obligation_state(_obligation(case_file, "art34"), now=now) == ObligationState.REQUIRED
    # when the campaign engine reports letters going out, then in progress; once finished, filed on time
    sent = SPRING_AWARE + dt.timedelta(days=2)
    case_file_people_informed_record(case_file=case_file, count=10, first_at=sent, last_at=sent, channels=["courrier"],
                                     finished=False)  # fmt: skip
    assert obligation_state(_obligation(case_file, "art34"), now=now) == ObligationState.IN_PROGRESS
    case_file_people_informed_record(case_file=case_file, count=12, first_at=sent, last_at=sent, channels=["courrier"],
                                     finished=True)  # fmt: skip
    assert obligation_state(_obligation(case_file, "art34"), now=now) == ObligationState.FILED


def test_ars_cert_sante_is_without_delay_by_default_and_takes_a_target_in_elapsed_hours(lab_a, regimes):
    # given the default settings: « sans délai », no target
    case_file = _case_file(lab_a)
    assert _clocks(case_file, "ars_cert_sante")["initial"].due_at is None
    # when an internal target of 24 h is configured (across the spring change)
    regimes["ars_cert_sante"]["steps"][0]["target_hours"] = 24
    clock = _clocks(case_file, "ars_cert_sante")["initial"]
    # then it is 24 real hours later: Sunday 29 March 11:00 Paris (summer time), shown as a target
    assert paris(clock.due_at) == dt.datetime(2026, 3, 29, 11, 0)
    assert clock.is_target


def test_nis2_counts_24_h_72_h_then_one_calendar_month_from_the_notification(lab_a, nis2_on):
    # given NIS2 enabled, and awareness before the spring change
    case_file = _case_file(lab_a)
    clocks = _clocks(case_file, "nis2")
    # then the early warning and the notification are 24 and 72 real hours after awareness
    assert paris(clocks["early_warning"].due_at) == dt.datetime(2026, 3, 29, 11, 0)
    assert paris(clocks["notification"].due_at) == dt.datetime(2026, 3, 31, 11, 0)
    # and, the notification unfiled, the final report is a calendar month after its due time (Paris wall clock)
    assert paris(clocks["final_report"].due_at) == dt.datetime(2026, 4, 30, 11, 0)


def test_nis2_final_report_is_a_paris_calendar_month_after_the_notification_across_the_autumn_change(lab_a, nis2_on):
    # given NIS2 enabled, awareness on 19 October 2026 (summer time), the notification filed 20 October 10:00 Paris
    aware = dt.datetime(2026, 10, 19, 10, 0, tzinfo=PARIS)
    case_file = _case_file(lab_a, aware_at=aware)
    dpo = make_staff("dpo-nis2", role="DPO", laboratories=[lab_a])
    notified = dt.datetime(2026, 10, 20, 10, 0, tzinfo=PARIS)
    with time_machine.travel(notified + dt.timedelta(hours=1), tick=False):
        obligation_file(obligation=_obligation(case_file, "nis2"), step="notification", notified_at=notified, by=dpo)
    # when the clocks are read
    final = _clocks(case_file, "nis2")["final_report"]
    # then the final report is due 20 November 10:00 Paris (winter time): a month on the wall clock, 31 days + 1 h
    assert paris(final.due_at) == dt.datetime(2026, 11, 20, 10, 0)
    assert final.due_at - notified == dt.timedelta(days=31, hours=1)


# --- the four-eyes "not required" ------------------------------------------------------------------------
@pytest.fixture
def second_dpo_lab_a(lab_a):
    return make_staff("dpo-a-2", role="DPO", laboratories=[lab_a])


def test_not_required_without_a_rationale_is_refused(lab_a, dpo_lab_a):
    obligation = _obligation(_case_file(lab_a), "ars_cert_sante")
    with pytest.raises(ValidationError, match="motif écrit"):
        obligation_assess(obligation=obligation, required=False, rationale="   ", by=dpo_lab_a)
    assert _obligation(obligation.case_file, "ars_cert_sante").assessment == "to_assess"


def test_not_required_waits_for_a_second_person_and_the_assessor_cannot_approve_it(lab_a, dpo_lab_a, second_dpo_lab_a):
    # given the DPO assesses the ARS report "not required", with a rationale
    case_file = _case_file(lab_a)
    obligation = obligation_assess(
        obligation=_obligation(case_file, "ars_cert_sante"), required=False, by=dpo_lab_a,
        rationale="Aucun système d'information du laboratoire n'est en cause : la fuite vient du sous-traitant.",
    )  # fmt: skip
    # then it is only pending approval, and the assessor's own approval is refused
    assert obligation_state(obligation, now=timezone.now()) == ObligationState.PENDING_APPROVAL
    with pytest.raises(ValidationError, match="seconde personne"):
        obligation_approve(obligation=obligation, by=dpo_lab_a)
    # when a second DPO of the laboratory approves, then it takes effect, with both names kept
    obligation = obligation_approve(obligation=obligation, by=second_dpo_lab_a)
    assert obligation_state(obligation, now=timezone.now()) == ObligationState.NOT_REQUIRED
    assert (obligation.assessed_by, obligation.approved_by) == (dpo_lab_a, second_dpo_lab_a)
    # and approving again is refused
    with pytest.raises(ValidationError, match="n'attend d'approbation"):
        obligation_approve(obligation=obligation, by=second_dpo_lab_a)


def test_the_database_refuses_a_not_required_approved_by_its_assessor_or_without_rationale(lab_a, dpo_lab_a):
    obligation = _obligation(_case_file(lab_a), "ars_cert_sante")
    for rationale, approver in (("Motif.", dpo_lab_a), ("", make_staff("dpo-x", role="DPO", laboratories=[lab_a]))):
        with pytest.raises(IntegrityError), transaction.atomic():
            Obligation.objects.filter(pk=obligation.pk).update(
                assessment="not_required", rationale=rationale, assessed_by=dpo_lab_a, approved_by=approver
            )


def test_an_operator_the_liaison_or_another_labs_dpo_may_neither_assess_nor_approve(
    lab_a, dpo_lab_a, dpo_lab_b, operator_lab_a, cnil_liaison
):
    obligation = _obligation(_case_file(lab_a), "ars_cert_sante")
    for user in (operator_lab_a, cnil_liaison, dpo_lab_b):
        with pytest.raises(ValidationError, match="Seul un DPO du laboratoire"):
            obligation_assess(obligation=obligation, required=False, rationale="Motif.", by=user)
    obligation_assess(obligation=obligation, required=False, rationale="Motif.", by=dpo_lab_a)
    for user in (operator_lab_a, cnil_liaison, dpo_lab_b):
        with pytest.raises(ValidationError, match="Seul un DPO du laboratoire"):
            obligation_approve(obligation=obligation, by=user)
    assert _obligation(obligation.case_file, "ars_cert_sante").assessment == "pending_approval"


def test_an_approved_not_required_cnil_obligation_becomes_the_registers_decision(lab_a, dpo_lab_a, second_dpo_lab_a):
    # given the CNIL obligation assessed "not required" and approved by a second DPO
    case_file = _case_file(lab_a)
    obligation = obligation_assess(
        obligation=_obligation(case_file, "cnil_art33"), required=False, by=dpo_lab_a,
        rationale="Données chiffrées, clé non compromise.",
    )  # fmt: skip
    case_file.refresh_from_db()
    assert case_file.cnil_decision == "undecided"  # not in effect before the approval
    obligation_approve(obligation=obligation, by=second_dpo_lab_a)
    # then the case file's decision (register, CNIL clock, liaison's table) says "not to notify", with the reason
    case_file.refresh_from_db()
    assert (case_file.cnil_decision, case_file.cnil_decision_reason) == (
        "not_notify",
        "Données chiffrées, clé non compromise.",
    )


# --- filing, lateness ------------------------------------------------------------------------------------------
def test_filing_the_ars_report_stops_its_clock_and_freezes_lateness_against_the_target(lab_a, dpo_lab_a, regimes):
    # given a 24-hour target for the ARS / CERT Santé report
    regimes["ars_cert_sante"]["steps"][0]["target_hours"] = 24
    case_file = _case_file(lab_a)
    obligation = _obligation(case_file, "ars_cert_sante")
    # when 25 hours have passed unfiled, then it is late
    late_moment = SPRING_AWARE + dt.timedelta(hours=25)
    assert obligation_state(obligation, now=late_moment) == ObligationState.LATE
    # when it is filed then, on the portal, with its reference
    with time_machine.travel(late_moment, tick=False):
        filing = obligation_file(obligation=obligation, step="initial", notified_at=timezone.now(), by=dpo_lab_a,
                                 authority="cert_sante", reference="SIG-2026-0042")  # fmt: skip
    # then the filing is linked to the obligation, late, and the obligation filed late and "required"
    assert (filing.obligation, filing.step, filing.late, filing.authority) == (
        obligation,
        "initial",
        True,
        "cert_sante",
    )
    obligation = _obligation(case_file, "ars_cert_sante")
    assert obligation_state(obligation, now=late_moment + dt.timedelta(days=5)) == ObligationState.FILED_LATE
    assert obligation.assessment == "required"


@pytest.mark.parametrize(
    ("regime", "step", "when", "message"),
    [
        ("cnil_art33", "initial", dt.timedelta(hours=1), "depuis le dossier"),
        ("art34", "communication", dt.timedelta(hours=1), "campagnes"),
        ("ars_cert_sante", "final_report", dt.timedelta(hours=1), "Étape inconnue"),
        ("ars_cert_sante", "initial", -dt.timedelta(hours=1), "précède la connaissance"),
        ("ars_cert_sante", "initial", dt.timedelta(days=400), "futur"),
    ],
)
def test_a_wrong_filing_is_refused_in_french(lab_a, dpo_lab_a, regime, step, when, message):
    obligation = _obligation(_case_file(lab_a, aware_at=timezone.now() - dt.timedelta(days=2)), regime)
    with pytest.raises(ValidationError, match=message):
        obligation_file(
            obligation=obligation, step=step, notified_at=obligation.case_file.aware_at + when, by=dpo_lab_a
        )
    assert not AuthorityNotification.objects.exists()


# --- reminders ---------------------------------------------------------------------------------------------
def _run_at(moment):
    with time_machine.travel(moment, tick=False):
        return deadline_reminders_send_task.apply().get()


def _reminders(regime):
    return list(DeadlineReminder.objects.filter(regime=regime, skipped=False).values_list("step", "kind"))


def test_a_without_delay_obligation_is_reminded_once_a_day_until_filed(lab_a, dpo_lab_a, regimes):
    # given only the ARS regime (the CNIL and Art. 34 clocks are tested elsewhere), a case file opened at awareness
    for key in ("cnil_art33", "art34"):
        regimes[key]["enabled"] = False
    case_file = _case_file(lab_a)
    # when the beat runs before a day, twice after one day, after two days
    for hours in (5, 25, 26, 49):
        _run_at(SPRING_AWARE + dt.timedelta(hours=hours))
    # then one email per elapsed day, never twice, naming the « sans délai » rule
    assert _reminders("ars_cert_sante") == [("initial", "elapsed"), ("initial", "elapsed")]
    ars_mails = [m for m in mail.outbox if m.subject.startswith("[Sans délai] ARS et CERT Santé")]
    assert len(ars_mails) == 2
    assert "« sans délai »" in ars_mails[0].body and "/admin/labs/obligation/" in ars_mails[0].body
    # and once filed, nothing more
    with time_machine.travel(SPRING_AWARE + dt.timedelta(hours=50), tick=False):
        obligation_file(obligation=_obligation(case_file, "ars_cert_sante"), step="initial",
                        notified_at=timezone.now(), by=dpo_lab_a)  # fmt: skip
    _run_at(SPRING_AWARE + dt.timedelta(hours=75))
    assert len(_reminders("ars_cert_sante")) == 2


def test_nis2_steps_are_reminded_at_t_minus_24h_t_minus_6h_and_overdue_once_each(lab_a, nis2_on):
    # given only NIS2 enabled
    for key in ("cnil_art33", "art34", "ars_cert_sante"):
        nis2_on[key]["enabled"] = False
    _case_file(lab_a)
    # when the beat runs at the early warning's T−6 h (twice), then past it, then at the notification's T−24 h
    for hours in (19, 19, 24.5, 48.5):
        _run_at(SPRING_AWARE + dt.timedelta(hours=hours))
    # then the early warning's T−6 h (its T−24 h, due since the opening, skipped as less urgent), its overdue, and
    # the notification's T−24 h went out, each once
    assert _reminders("nis2") == [("early_warning", "t-6h"), ("early_warning", "overdue"), ("notification", "t-24h")]
    assert DeadlineReminder.objects.get(regime="nis2", kind="t-24h", step="early_warning").skipped
    subjects = [m.subject for m in mail.outbox if "NIS2" in m.subject]
    assert len(subjects) == 3 and subjects[1].startswith("[Échéance dépassée] NIS2")


def test_an_approved_not_required_obligation_is_not_reminded(lab_a, dpo_lab_a, second_dpo_lab_a, regimes):
    for key in ("cnil_art33", "art34"):
        regimes[key]["enabled"] = False
    obligation = _obligation(_case_file(lab_a), "ars_cert_sante")
    obligation_assess(obligation=obligation, required=False, rationale="Hors champ.", by=dpo_lab_a)
    obligation_approve(obligation=obligation, by=second_dpo_lab_a)
    assert _run_at(SPRING_AWARE + dt.timedelta(hours=30)) == 0


def test_the_cnil_obligation_is_reminded_once_through_the_case_files_clock(lab_a, dpo_lab_a, regimes):
    # given only the CNIL regime: its obligation and the case file share one clock
    for key in ("art34", "ars_cert_sante"):
        regimes[key]["enabled"] = False
    case_file = _case_file(lab_a)
    # when the beat runs at T−23 h, then one email, not two
    assert _run_at(case_file.due_at - dt.timedelta(hours=23)) == 1
    assert len(mail.outbox) == 1


def test_a_cnil_filing_files_the_cnil_obligation(lab_a, dpo_lab_a):
    case_file = complete_case_file(lab_a, breach=BreachFactory(aware_at=SPRING_AWARE), aware_at=SPRING_AWARE)
    obligations_open(case_file=case_file)
    with time_machine.travel(SPRING_AWARE + dt.timedelta(hours=10), tick=False):
        cnil_filing_record(case_file=case_file, submitted_at=timezone.now(), by=dpo_lab_a)
    assert obligation_state(_obligation(case_file, "cnil_art33"), now=timezone.now()) == ObligationState.FILED


# --- the admin pages, with bad input --------------------------------------------------------------------------
@pytest.fixture
def dpo_a_client(client, login_verified, dpo_lab_a):
    return login_verified(client, dpo_lab_a)


def test_the_assess_page_refuses_not_required_without_rationale_in_french(dpo_a_client, lab_a):
    obligation = _obligation(_case_file(lab_a), "ars_cert_sante")
    url = reverse("admin:labs_obligation_assess", args=[obligation.pk])
    response = dpo_a_client.post(url, {"decision": "not_required", "rationale": ""})
    assert response.status_code == 200
    assert "« Non requise » exige un motif écrit." in response.content.decode()
    response = dpo_a_client.post(url, {"decision": "peut-être"})
    assert response.status_code == 200 and "Sélectionnez un choix valide" in response.content.decode()
    assert _obligation(obligation.case_file, "ars_cert_sante").assessment == "to_assess"


def test_the_approve_action_refuses_the_assessor_with_a_message(dpo_a_client, dpo_lab_a, lab_a):
    obligation = _obligation(_case_file(lab_a), "ars_cert_sante")
    obligation_assess(obligation=obligation, required=False, rationale="Hors champ.", by=dpo_lab_a)
    response = dpo_a_client.post(
        reverse("admin:labs_obligation_changelist"),
        {"action": "approve_not_required", "_selected_action": [obligation.pk], "index": 0},
        follow=True,
    )
    assert response.status_code == 200
    assert "seconde personne doit approuver" in response.content.decode()
    assert _obligation(obligation.case_file, "ars_cert_sante").assessment == "pending_approval"


def test_the_file_page_records_a_step_and_refuses_bad_input_in_french(dpo_a_client, lab_a):
    obligation = _obligation(_case_file(lab_a, aware_at=timezone.now() - dt.timedelta(hours=3)), "ars_cert_sante")
    url = reverse("admin:labs_obligation_file", args=[obligation.pk])
    bad = dpo_a_client.post(
        url, {"step": "initial", "authority": "ars", "notified_at_0": "31/02/2026", "notified_at_1": "10:00"}
    )
    assert bad.status_code == 200 and "Date invalide (jj/mm/aaaa)." in bad.content.decode()
    now = timezone.localtime()
    good = dpo_a_client.post(url, {"step": "initial", "authority": "ars", "reference": "SIG-1",
                                   "notified_at_0": f"{now:%d/%m/%Y}", "notified_at_1": f"{now:%H:%M}"})  # fmt: skip
    assert good.status_code == 302
    assert AuthorityNotification.objects.get(obligation=obligation).reference == "SIG-1"


def test_a_dpo_cannot_set_not_to_notify_alone_through_the_case_file_form(lab_a):
    from labs.forms import CaseFileForm

    case_file = _case_file(lab_a)
    data = {"cnil_decision": "not_notify", "cnil_decision_reason": "Données chiffrées."}
    form = CaseFileForm(data=data, instance=case_file)
    assert not form.is_valid()
    assert "seconde personne" in " ".join(form.errors["cnil_decision"])


# --- the regimes' configuration ----------------------------------------------------------------------------
def test_the_default_regimes_pass_the_start_up_check_and_a_malformed_one_is_refused_in_french(regimes):
    from labs.checks import check_regimes

    assert check_regimes() == []
    regimes["nis2"]["steps"][2]["from"] = "rapport"
    regimes["ars_cert_sante"]["steps"][0]["target_hours"] = -4
    regimes["art34"]["evidence"] = "courrier"
    messages = {error.msg for error in check_regimes()}
    assert messages == {
        "Régime 'nis2' mal configuré : final_report : « from » doit être aware_at ou une étape précédente.",
        "Régime 'ars_cert_sante' mal configuré : initial : « target_hours » doit être un nombre entier positif.",
        "Régime 'art34' mal configuré : « evidence » doit valoir cnil_filing, people_informed, authority_notification.",
    }


def test_each_obligations_page_offers_its_regimes_sheet_to_whom_the_table_allows_it(
    client, login_verified, lab_a, dpo_lab_a
):
    # given a case file whose CNIL notification was filed
    case_file = complete_case_file(lab_a, breach=BreachFactory(aware_at=SPRING_AWARE), aware_at=SPRING_AWARE)
    obligations_open(case_file=case_file)
    filing = cnil_filing_record(case_file=case_file, submitted_at=SPRING_AWARE + dt.timedelta(hours=5), by=dpo_lab_a)
    login_verified(client, dpo_lab_a)

    def page(regime):
        url = reverse("admin:labs_obligation_change", args=[_obligation(case_file, regime).pk])
        return client.get(url).content.decode()

    # then the CNIL obligation links its filing's sheet and EDPB export, the ARS one its report, Art. 34 none
    cnil = page("cnil_art33")
    assert reverse("admin:labs_cnilfiling_sheet_pdf", args=[filing.pk]) in cnil
    assert reverse("admin:labs_cnilfiling_edpb_json", args=[filing.pk]) in cnil
    assert reverse("admin:labs_breachlaboratory_ars_pdf", args=[case_file.pk]) in page("ars_cert_sante")
    assert "Fiche" not in page("art34")
    # and the ARS report link the page offers downloads a PDF
    assert client.get(reverse("admin:labs_breachlaboratory_ars_pdf", args=[case_file.pk]))["Content-Type"] == (
        "application/pdf"
    )
