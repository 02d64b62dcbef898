"""The CNIL filing exported in the EDPB common template's structure (draft, June 2026): validated against the
JSON Schema we wrote for the mapped questions, refused (in French, never served) when invalid, and kept equal
to the mapping table in docs/edpb-mapping.md. Synthetic data only."""

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from jsonschema import Draft202012Validator

from labs.audit import AuditEvent
from labs.edpb import EDPB_QUESTIONS, SECTIONS, EdpbExportError, edpb_export, edpb_export_json
from labs.models import BreachLaboratory, BreachMeasure, CnilFiling
from labs.services import authority_notification_add, cnil_filing_receipt_attach, cnil_filing_record
from labs.snapshots import SNAPSHOT_FORMAT
from tests.factories import BreachFactory

from .helpers import complete_case_file

pytestmark = pytest.mark.django_db

SCHEMA = json.loads((Path(settings.BASE_DIR) / "schemas" / "edpb_art33.schema.json").read_text(encoding="utf-8"))
MAPPING_TABLE = Path(settings.BASE_DIR) / "docs" / "edpb-mapping.md"


def _validate(document):
    Draft202012Validator(SCHEMA).validate(document)  # raises on the first error


def _answers(document):
    return {qid: value for section in document["sections"].values() for qid, value in section["answers"].items()}


def _full_case_file(lab):
    case_file = complete_case_file(lab)
    lab.finess_ej, lab.dpo_email = "350000000", "dpo@lab.example"
    lab.save()
    case_file.refresh_from_db()
    case_file.ended_at = case_file.aware_at - dt.timedelta(hours=1)
    case_file.minors_estimate, case_file.others_description, case_file.others_estimate = 40, "prescripteurs", 12
    case_file.consequences = ["phishing", "health_disclosure", "distress"]
    case_file.people_informed, case_file.people_informed_count = "in_progress", 300
    case_file.exemption = "none"
    case_file.save()
    BreachMeasure.objects.create(case_file=case_file, kind="proposed", text="Audit de l'éditeur.")
    authority_notification_add(
        case_file=case_file, authority="cert_sante", notified_at=timezone.now() - dt.timedelta(hours=3),
        reference="CS-2026-77",
    )  # fmt: skip
    return case_file


# --- the export ------------------------------------------------------------------------------------------
def test_the_export_of_a_full_filing_validates_and_answers_with_the_templates_predefined_values(dpo_lab_a, lab_a):
    # given a case file with every fact known, filed with the CNIL
    case_file = _full_case_file(lab_a)
    filing = cnil_filing_record(case_file=case_file, submitted_at=timezone.now(), by=dpo_lab_a, cnil_reference="R-9")
    assert filing.snapshot["missing"] == []
    # when it is exported in the EDPB template's structure
    document = json.loads(edpb_export_json(filing))
    # then the schema accepts it, and the answers are the template's predefined values, not the app's labels
    _validate(document)
    answers = _answers(document)
    assert answers["A.1"] == "complete" and answers["A.5"] is False
    assert answers["B.2"] == "552100554" and answers["B.3"] == "350000000" and answers["B.8"] == "dpo@lab.example"
    assert answers["C.3"] == "no" and answers["C.9"] == ["confidentiality"]
    assert answers["C.10"] == "external_malicious" and answers["C.14"] is True
    assert answers["C.15"] == ["patients", "children", "other"]
    assert (answers["C.16"], answers["C.18"], answers["C.21"]) == (1200, 40, 12)
    assert answers["D.1"] == [
        "phishing_or_social_engineering", "disclosure_of_special_category_data", "psychological_harm",
    ]  # fmt: skip
    assert [m["description"] for m in answers["E.1"]] == ["Mot de passe des comptes changé."]
    assert [m["description"] for m in answers["E.2"]] == ["Audit de l'éditeur."]
    assert (answers["F.1"], answers["F.3"], answers["F.4"], answers["F.8"]) == ("yes", "in_progress", 300, "none")
    assert answers["G.1"] == [
        {"authority": "sectoral_csirt", "name": "CERT Santé (Agence du numérique en santé)",
         "date": answers["G.1"][0]["date"], "reference": "CS-2026-77"},
    ]  # fmt: skip
    assert document["source"] == {
        "snapshot_format": SNAPSHOT_FORMAT, "filing_sequence": 1, "supervisory_authority": "CNIL",
        "reference": "R-9",
    }  # fmt: skip


def test_an_initial_filing_with_facts_missing_validates_with_unknown_answers_and_what_will_follow(dpo_lab_a, lab_a):
    # given what a DPO knows on day one: no dates, no cause, no measure, no legal representative
    case_file = BreachLaboratory.objects.create(
        breach=BreachFactory(), laboratory=lab_a, aware_at=timezone.now() - dt.timedelta(hours=5),
        nature_confidentiality=True, description="Fichier publié sur un forum.",
    )  # fmt: skip
    filing = cnil_filing_record(case_file=case_file, submitted_at=timezone.now(), by=dpo_lab_a)
    # when exported
    document = json.loads(edpb_export_json(filing))
    # then it validates: the unknowns are null ("unknown" where the template offers it), the rest follows later
    _validate(document)
    answers = _answers(document)
    assert answers["A.1"] == "preliminary"
    assert "représentant légal" in answers["A.7"] and "mesures prises ou proposées" in answers["A.7"]
    assert answers["C.2"] is None and answers["C.3"] == "unknown" and answers["C.10"] == "unknown"
    assert answers["C.16"] is None and answers["E.1"] == [] and answers["F.1"] == "not_yet_assessed"
    assert answers["B.2"] is None and answers["B.10"] is None
    assert document["source"]["reference"] is None


def test_a_complementary_filing_is_a_follow_up_citing_the_preliminary_ones_reference_and_date(dpo_lab_a, lab_a):
    case_file = complete_case_file(lab_a)
    initial = cnil_filing_record(case_file=case_file, submitted_at=timezone.now() - dt.timedelta(hours=2), by=dpo_lab_a)
    cnil_filing_receipt_attach(filing=initial, by=dpo_lab_a, cnil_reference="CNIL-2026-004217")
    complement = cnil_filing_record(case_file=case_file, submitted_at=timezone.now(), by=dpo_lab_a)
    answers = _answers(json.loads(edpb_export_json(complement)))
    assert answers["A.1"] == "follow_up"
    assert answers["A.2"] == "CNIL-2026-004217" and answers["A.3"] == initial.submitted_at.isoformat()
    # and the initial, whose CNIL number came after it was filed, is exported with that number
    assert json.loads(edpb_export_json(initial))["source"]["reference"] == "CNIL-2026-004217"


def test_an_answer_outside_the_templates_values_is_refused_saying_which_in_french(dpo_lab_a, lab_a):
    # given a filing whose frozen cause is not one the template knows (e.g. a label renamed since)
    filing = cnil_filing_record(case_file=complete_case_file(lab_a), submitted_at=timezone.now(), by=dpo_lab_a)
    snapshot = {**filing.snapshot, "breach": {**filing.snapshot["breach"], "cause": "panne de courant"}}
    # when exported, then it is refused, naming the question
    with pytest.raises(EdpbExportError, match=r"Export au modèle EDPB refusé.*C\.10"):
        edpb_export(snapshot)


def test_the_admin_never_serves_an_invalid_export_and_says_why_in_french(client, login_verified, dpo_lab_a, lab_a):
    # given a filing stored with a snapshot the template refuses (written around the model's immutability)
    filing = cnil_filing_record(case_file=complete_case_file(lab_a), submitted_at=timezone.now(), by=dpo_lab_a)
    broken = {**filing.snapshot, "breach": {**filing.snapshot["breach"], "nature": ["panne"]}}
    CnilFiling._base_manager.filter(pk=filing.pk).update(snapshot=broken)
    login_verified(client, dpo_lab_a)
    url = reverse("admin:labs_cnilfiling_edpb_json", args=[filing.pk])
    # when the DPO asks for the EDPB export
    response = client.get(url, follow=True)
    # then no JSON is served: the filing's page says, in French, that the export was refused
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Export au modèle EDPB refusé" in response.content.decode()
    assert not AuditEvent.objects.filter(action="export", extra__format="edpb").exists()


def test_the_admin_serves_a_valid_export_as_a_json_download_and_audits_it(client, login_verified, dpo_lab_a, lab_a):
    filing = cnil_filing_record(case_file=complete_case_file(lab_a), submitted_at=timezone.now(), by=dpo_lab_a)
    login_verified(client, dpo_lab_a)
    response = client.get(reverse("admin:labs_cnilfiling_edpb_json", args=[filing.pk]))
    assert response.status_code == 200
    assert "modele-edpb.json" in response["Content-Disposition"]
    _validate(json.loads(response.content))
    event = AuditEvent.objects.get(action="export", extra__format="edpb")
    assert (event.object_id, event.laboratory) == (str(filing.pk), lab_a)
    # and the filing's page links to it
    page = client.get(reverse("admin:labs_cnilfiling_change", args=[filing.pk])).content.decode()
    assert reverse("admin:labs_cnilfiling_edpb_json", args=[filing.pk]) in page


# --- the schema and the mapping table ------------------------------------------------------------------
def test_the_schema_is_a_valid_draft_2020_12_schema_and_covers_exactly_the_mapped_questions():
    Draft202012Validator.check_schema(SCHEMA)
    sections = SCHEMA["properties"]["sections"]["properties"]
    assert set(sections) == set(SECTIONS)
    in_schema = {qid for section in sections.values() for qid in section["properties"]["answers"]["properties"]}
    required = {qid for section in sections.values() for qid in section["properties"]["answers"]["required"]}
    assert in_schema == required == {q.id for q in EDPB_QUESTIONS}


def _mapping_rows():
    rows = {}
    for line in MAPPING_TABLE.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and re.fullmatch(r"[A-G]\.\d+", cells[0]):
            rows[cells[0]] = cells
    return rows


def test_every_mapped_question_its_app_field_and_its_values_are_in_the_mapping_table():
    rows = _mapping_rows()
    # the same questions, in code and in the table
    assert set(rows) == {q.id for q in EDPB_QUESTIONS}
    for question in EDPB_QUESTIONS:
        qid, text, source, values, _checked = rows[question.id]
        assert text == question.text, question.id
        assert source == f"`{question.source}`", question.id
        # each predefined value the code maps to, and each app value it maps from, is written in the table
        for app_value, template_value in question.values.items():
            assert f"`{app_value}` → `{template_value}`" in values, (question.id, app_value)


def test_every_predefined_value_the_code_can_answer_is_allowed_by_the_schema():
    sections = SCHEMA["properties"]["sections"]["properties"]
    schemas = {
        qid: s for section in sections.values() for qid, s in section["properties"]["answers"]["properties"].items()
    }
    for question in EDPB_QUESTIONS:
        if question.id in ("C.3",):  # derived, not a value table: its enum is checked in the export tests
            continue
        schema = schemas[question.id]
        allowed = set(schema.get("enum") or schema.get("items", {}).get("enum") or [])
        if question.id == "G.1":
            allowed = set(schema["items"]["properties"]["authority"]["enum"])
        for template_value in question.values.values():
            assert template_value in allowed, (question.id, template_value)


# --- the command -------------------------------------------------------------------------------------------
def test_the_command_prints_the_validated_edpb_export(dpo_lab_a, lab_a, capfd):
    filing = cnil_filing_record(case_file=complete_case_file(lab_a), submitted_at=timezone.now(), by=dpo_lab_a)
    call_command("filing_export", str(filing.pk), "--format", "edpb-json")
    document = json.loads(capfd.readouterr().out)
    _validate(document)
    assert _answers(document)["B.1"] == lab_a.name


def test_the_command_writes_the_cnil_and_ars_sheets_as_pdf_files(dpo_lab_a, lab_a, tmp_path):
    filing = cnil_filing_record(case_file=complete_case_file(lab_a), submitted_at=timezone.now(), by=dpo_lab_a)
    for fmt in ("cnil-pdf", "ars-pdf"):
        path = tmp_path / f"{fmt}.pdf"
        call_command("filing_export", str(filing.pk), "--format", fmt, "--output", str(path))
        assert path.read_bytes().startswith(b"%PDF-")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["1", "--format", "xml"], "Format inconnu « xml »"),
        (["abc"], "Numéro de notification invalide « abc »"),
        (["999999"], "Aucune notification CNIL n°999999"),
    ],
)
def test_the_command_refuses_bad_input_with_one_french_line_and_exit_code_2(args, message):
    with pytest.raises(CommandError, match=message) as error:
        call_command("filing_export", *args)
    assert error.value.returncode == 2


def test_the_command_refuses_to_write_where_it_cannot_in_french(dpo_lab_a, lab_a, tmp_path):
    filing = cnil_filing_record(case_file=complete_case_file(lab_a), submitted_at=timezone.now(), by=dpo_lab_a)
    target = tmp_path / "missing-dir" / "x.pdf"
    with pytest.raises(CommandError, match="Écriture impossible") as error:
        call_command("filing_export", str(filing.pk), "--format", "cnil-pdf", "--output", str(target))
    assert error.value.returncode == 2


def test_a_public_communication_is_answered_in_the_templates_public_communication_questions(dpo_lab_a, lab_a):
    from labs.models import PublicCommunication

    # given a case file whose laboratory published a notice on its website
    case_file = _full_case_file(lab_a)
    published = timezone.now()
    PublicCommunication.objects.create(
        case_file=case_file, published_at=published, medium=PublicCommunication.Medium.WEBSITE,
        url="https://labo.example/fuite", text="Avis aux patients.",
    )  # fmt: skip
    filing = cnil_filing_record(case_file=case_file, submitted_at=timezone.now(), by=dpo_lab_a)
    # when exported, then F.10–F.12 carry its medium, date and link, and the document still validates
    document = json.loads(edpb_export_json(filing))
    _validate(document)
    answers = _answers(document)
    assert answers["F.10"] == str(PublicCommunication.Medium.WEBSITE.label)
    assert (
        answers["F.11"].startswith(published.date().isoformat()[:4]) and answers["F.12"] == "https://labo.example/fuite"
    )
