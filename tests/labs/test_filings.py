import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from labs.audit import AuditEvent
from labs.filings import FilingImmutableError
from labs.models import BreachLaboratory, CnilFiling, PublicCommunication
from labs.selectors import case_file_checklist, case_file_missing, register_rows
from labs.services import case_file_decide, cnil_filing_record
from tests.factories import BreachFactory, LaboratoryFactory

from .helpers import complete_case_file

pytestmark = pytest.mark.django_db


def test_an_empty_case_file_is_filed_with_what_is_known_and_lists_the_items_to_complete(dpo_lab_a, lab_a):
    # given a case file with nothing filled in
    case_file = BreachLaboratory.objects.create(breach=BreachFactory(), laboratory=lab_a, aware_at=timezone.now())
    # when its completeness is asked, then the Art. 33(3) elements are listed as missing
    missing = case_file_missing(case_file)
    assert "nature de la violation (confidentialité, intégrité, disponibilité)" in missing
    assert "mesures prises ou proposées" in missing
    assert "représentant légal" in missing
    # and an initial filing is accepted all the same (Art. 33(4)), the missing items frozen « à compléter »
    filing = cnil_filing_record(case_file=case_file, submitted_at=timezone.now(), by=dpo_lab_a)
    assert filing.kind == "initial"
    assert filing.snapshot["missing"] == missing
    assert "Éléments à compléter" in filing.text and "- représentant légal" in filing.text


def test_exemption_c_needs_a_public_notice_record(lab_a):
    # given a complete case file that claims Art. 34(3)(c) with a justification but no public notice
    case_file = complete_case_file(lab_a)
    case_file.exemption, case_file.exemption_justification = "c", "Adresses inconnues."
    # when / then the public notice is the one missing element
    assert [item["code"] for item in case_file_checklist(case_file) if not item["ok"]] == ["public_notice"]
    # and once a publication is recorded, nothing is missing
    PublicCommunication.objects.create(case_file=case_file, published_at=timezone.now(), medium="press",
                                       where="Ouest-France", text="Avis aux patients")  # fmt: skip
    assert [item["code"] for item in case_file_checklist(case_file) if not item["ok"]] == []


def test_a_complete_case_file_is_filed_then_completed_in_phases(dpo_lab_a, lab_a):
    # given a complete case file, aware 10 h ago
    case_file = complete_case_file(lab_a)
    assert case_file_missing(case_file) == []
    # when the initial and then a complementary filing are recorded
    initial = cnil_filing_record(
        case_file=case_file, submitted_at=timezone.now() - dt.timedelta(minutes=1), by=dpo_lab_a, cnil_reference="N-1"
    )
    case_file.description = "Description complétée après analyse."
    case_file.save()
    complement = cnil_filing_record(case_file=case_file, submitted_at=timezone.now(), by=dpo_lab_a)
    # then numbered 1 (initial) and 2 (complementary), each with its own frozen snapshot
    assert (initial.kind, initial.sequence, complement.kind, complement.sequence) == ("initial", 1, "complementary", 2)
    assert initial.snapshot["breach"]["description"] == "Fichier de patients publié sur un forum."
    assert complement.snapshot["breach"]["description"] == "Description complétée après analyse."
    assert initial.snapshot["organisation"]["siren"] == "552100554"
    # and the case file records the first filing, on time, and the decision to notify
    case_file.refresh_from_db()
    assert case_file.filed_late is False
    assert case_file.cnil_decision == "notify"
    assert AuditEvent.objects.filter(action="file", laboratory=lab_a).count() == 2


def test_a_filing_cannot_be_edited_or_deleted(dpo_lab_a, lab_a):
    # given a recorded filing
    filing = cnil_filing_record(case_file=complete_case_file(lab_a), submitted_at=timezone.now(), by=dpo_lab_a)
    # when it is edited, deleted or bulk-updated, then each is refused
    filing.cnil_reference = "changed"
    with pytest.raises(FilingImmutableError):
        filing.save()
    with pytest.raises(FilingImmutableError):
        filing.delete()
    with pytest.raises(FilingImmutableError):
        CnilFiling.objects.filter(pk=filing.pk).update(cnil_reference="changed")
    assert CnilFiling.objects.get(pk=filing.pk).cnil_reference == ""


def test_a_late_first_filing_without_delay_reasons_is_refused(dpo_lab_a, lab_a):
    # given a case file whose awareness was 80 hours ago (deadline passed 8 hours ago)
    case_file = complete_case_file(lab_a, aware_at=timezone.now() - dt.timedelta(hours=80))
    # when filed without reasons, then refused; with reasons, accepted and marked late
    with pytest.raises(ValidationError, match="motifs du retard"):
        cnil_filing_record(case_file=case_file, submitted_at=timezone.now(), by=dpo_lab_a)
    filing = cnil_filing_record(
        case_file=case_file, submitted_at=timezone.now(), by=dpo_lab_a, delay_reasons="Avis du sous-traitant tardif."
    )
    assert filing.late is True
    assert filing.snapshot["filing"]["delay_reasons"] == "Avis du sous-traitant tardif."


def test_the_database_refuses_a_late_filing_without_reasons_and_a_second_initial(lab_a):
    # given a case file, when rows bypassing the service are inserted, then the constraints refuse them
    case_file = complete_case_file(lab_a)
    with pytest.raises(IntegrityError), transaction.atomic():
        CnilFiling.objects.create(
            case_file=case_file, sequence=1, kind="initial", submitted_at=timezone.now(), late=True, snapshot={}
        )
    CnilFiling.objects.create(
        case_file=case_file, sequence=1, kind="initial", submitted_at=timezone.now(), late=False, snapshot={}
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        CnilFiling.objects.create(
            case_file=case_file, sequence=2, kind="initial", submitted_at=timezone.now(), late=False, snapshot={}
        )
    assert CnilFiling.objects.count() == 1


def test_lateness_is_frozen_at_the_first_filing(dpo_lab_a, lab_a):
    # given a case file filed on time
    case_file = complete_case_file(lab_a)
    cnil_filing_record(case_file=case_file, submitted_at=timezone.now(), by=dpo_lab_a, cnil_reference="N-1")
    # when its awareness is later moved back (making the first filing look late) and a complement is filed
    case_file.refresh_from_db()
    case_file.aware_at = timezone.now() - dt.timedelta(days=10)
    case_file.save()
    complement = cnil_filing_record(case_file=case_file, submitted_at=timezone.now(), by=dpo_lab_a)
    # then the first filing's lateness is unchanged and the complement needs no delay reasons
    case_file.refresh_from_db()
    assert case_file.filed_late is False
    assert complement.late is False


def test_the_register_lists_breaches_not_notified_with_who_decided_when_and_why(dpo_lab_a, lab_a):
    # given a case file the DPO decides not to notify, and another laboratory's case file
    case_file = BreachLaboratory.objects.create(breach=BreachFactory(), laboratory=lab_a, aware_at=timezone.now())
    BreachLaboratory.objects.create(breach=case_file.breach, laboratory=LaboratoryFactory(), aware_at=timezone.now())
    case_file_decide(
        case_file=case_file, decision="not_notify", reason="Données chiffrées, clé non compromise.", by=dpo_lab_a
    )
    # when the DPO's register is read
    rows = register_rows(user=dpo_lab_a)
    # then only their case file, with the decision, its author, time and reason
    assert len(rows) == 1
    assert rows[0]["decision"] == "ne pas notifier (risque improbable)"
    assert rows[0]["decided_by"] == "dpo-a"
    assert rows[0]["decided_at"]
    assert rows[0]["decision_reason"] == "Données chiffrées, clé non compromise."


def test_a_decision_without_a_reason_is_refused(dpo_lab_a, lab_a):
    case_file = BreachLaboratory.objects.create(breach=BreachFactory(), laboratory=lab_a, aware_at=timezone.now())
    with pytest.raises(ValidationError, match="motif"):
        case_file_decide(case_file=case_file, decision="not_notify", reason=" ", by=dpo_lab_a)
    case_file.refresh_from_db()
    assert case_file.cnil_decision == "undecided"


def test_case_files_are_created_per_laboratory_with_estimates_from_the_import(lab_a, lab_b):
    # given a breach with 3 patients (4 records) at A, 1 at B, one of A's with a sensitive class
    from labs.services import case_files_sync
    from tests.factories import PatientFactory

    breach = BreachFactory()
    PatientFactory(breach=breach, laboratory=lab_a, record_count=2, sensitive_mask=1)
    PatientFactory.create_batch(2, breach=breach, laboratory=lab_a)
    PatientFactory(breach=breach, laboratory=lab_b)
    # when case files are synced twice
    created = case_files_sync(breach=breach), case_files_sync(breach=breach)
    # then one per laboratory, with the counts from the import and the health-data flag
    assert created == (2, 0)
    case_file = BreachLaboratory.objects.get(breach=breach, laboratory=lab_a)
    assert (case_file.people_estimate, case_file.records_estimate, case_file.health_data) == (3, 4, True)
    assert "numéro de sécurité sociale (NIR)" in case_file.data_categories
    assert case_file.aware_at == breach.aware_at


def test_case_files_sync_command_is_rerunnable_and_refuses_an_unknown_breach(lab_a):
    # given a breach with a patient at A
    import json
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    from tests.factories import PatientFactory

    patient = PatientFactory(laboratory=lab_a)
    outputs = [StringIO(), StringIO()]
    # when the command runs twice, then one case file, created once; an unknown slug is a clear error
    for out in outputs:
        call_command("case_files_sync", patient.breach.slug, json=True, stdout=out)
    assert [json.loads(o.getvalue())["created"][patient.breach.slug] for o in outputs] == [1, 0]
    with pytest.raises(CommandError, match="no breach"):
        call_command("case_files_sync", "nope", stdout=StringIO())


def test_measures_are_read_per_breach_and_laboratory_oldest_first(lab_a, lab_b):
    # given measures at A (two) and at B (one) for the same breach
    from labs.selectors import measures_for
    from labs.services import breach_measure_add

    case_a = complete_case_file(lab_a)  # one measure already
    breach_measure_add(case_file=case_a, text="Plainte déposée.", kind="taken")
    breach_measure_add(
        case_file=BreachLaboratory.objects.create(breach=case_a.breach, laboratory=lab_b, aware_at=timezone.now()),
        text="Autre laboratoire.",
    )
    # when A's measures are read, then A's two, in order
    texts = [m["text"] for m in measures_for(breach=case_a.breach, laboratory=lab_a)]
    assert texts == ["Mot de passe des comptes changé.", "Plainte déposée."]
