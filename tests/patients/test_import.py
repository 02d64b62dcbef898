from __future__ import annotations

import csv
import json
import stat

import pytest

from labs.models import Laboratory
from patients.categories import Exposure, Sensitive, names
from patients.importer import _FIELDS, REJECTS_HEADER, ImportInputError, RowValues
from patients.mapping import CANONICAL_FIELDS
from patients.models import ExposedRecord, ImportBatch, ImportRejection, Patient
from patients.services import leak_import
from tests.factories import BreachFactory
from tests.patients.leak_files import nir, row, write_leak

pytestmark = pytest.mark.django_db


@pytest.fixture
def breach():
    return BreachFactory(slug="leak-2021")


def _import(tmp_path, breach, rows, name="leak.csv", **kwargs):
    """Write and import rows; these tests are about reading, so the file may create its laboratories."""
    file_kwargs = {k: kwargs.pop(k) for k in ("encoding", "delimiter", "header", "eol") if k in kwargs}
    kwargs.setdefault("allow_new_laboratories", True)
    path = write_leak(tmp_path / name, rows, **file_kwargs)
    return leak_import(path=path, breach=breach, **kwargs)


def test_rows_of_one_person_become_one_patient_whatever_the_nir_spelling(tmp_path, breach):
    # given three rows of one person, the NIR written compact, spaced and dotted, birth date in two formats
    number = nir("2530735238004")
    spaced = " ".join([number[0], number[1:3], number[3:5], number[5:7], number[7:10], number[10:13], number[13:]])
    rows = [
        row(NUM_DOSSIER="D1", NUM_SECU=number),
        row(NUM_DOSSIER="D2", NUM_SECU=spaced, DATE_NAISSANCE="1953-07-05"),
        row(NUM_DOSSIER="D3", NUM_SECU=number.replace("35", "35.", 1), EMAIL="Anne.Martin@Example.org"),
    ]
    # when imported
    result = _import(tmp_path, breach, rows)
    # then one patient with three records, the email from the third row, and no NIR in clear anywhere
    patient = Patient.objects.get()
    assert (result.batch.rows_read, result.batch.rows_accepted, result.batch.rows_rejected) == (3, 3, 0)
    assert patient.record_count == 3 == ExposedRecord.objects.filter(patient=patient).count()
    assert patient.email == "anne.martin@example.org"
    assert patient.nir_masked == f"2 53 •• •• ••• ••• {number[13:]}"
    assert patient.nir_valid is True
    assert number not in json.dumps(list(Patient.objects.values()), default=str)


def test_the_same_person_at_two_laboratories_is_two_patients_sharing_a_person_key(tmp_path, breach):
    # given one person's rows at two laboratories
    rows = [row(CODE_LABO="LAB01"), row(CODE_LABO="LAB02", NUM_DOSSIER="X9")]
    # when imported
    _import(tmp_path, breach, rows)
    # then two patients, laboratories created from the codes, one person key
    assert Patient.objects.count() == 2
    assert set(Laboratory.objects.values_list("code", flat=True)) == {"LAB01", "LAB02"}
    assert Patient.objects.values("person_key").distinct().count() == 1


def test_persons_without_nir_are_matched_on_names_and_birth_date(tmp_path, breach):
    # given two rows of a person without NIR (case and accents differ) and a namesake born another day
    rows = [
        row(NUM_SECU="", NOM="Le Gall", PRENOM="Aurélie", DATE_NAISSANCE="01/02/1990"),
        row(NUM_SECU="", NOM="LE GALL", PRENOM="Aurelie", DATE_NAISSANCE="1990-02-01"),
        row(NUM_SECU="", NOM="Le Gall", PRENOM="Aurélie", DATE_NAISSANCE="02/02/1990"),
    ]
    # when imported
    _import(tmp_path, breach, rows)
    # then two patients, the first with two records and no NIR exposed
    counts = sorted(Patient.objects.values_list("record_count", flat=True))
    assert counts == [1, 2]
    assert not Patient.objects.filter(exposure_mask__gte=0).exclude(nir_masked="").exists()


def test_broken_records_are_rejected_with_their_number_line_and_reason_in_a_private_file(tmp_path, breach):
    # given a file with a multi-line quoted address, then three broken records
    rows = [
        row(ADRESSE1="3 rue de la Paix\nBâtiment B; escalier 2"),  # record 1, lines 2–3
        row(CODE_LABO=""),  # record 2, line 4: no laboratory code
        row(NOM="", NUM_SECU=""),  # record 3, line 5: neither a name nor a NIR
        "LAB01;D9;12/03/2019;Mme;Martin;Anne;;05/07/1953;;;3 rue;;35000;Rennes;;;;;;;;;;;;;;;;;extra",  # line 6
        row(NUM_DOSSIER="D10", NOM="Durand", NUM_SECU=nir("1800135238004")),  # record 5, line 7
    ]
    rejects = tmp_path / "out" / "rejects.csv"
    # when imported
    result = _import(tmp_path, breach, rows, rejects_path=rejects)
    # then every record is accounted for
    batch = result.batch
    assert (batch.rows_read, batch.rows_accepted, batch.rows_rejected) == (5, 2, 3)
    rejections = list(ImportRejection.objects.filter(batch=batch).values_list("record_number", "line_number", "reason"))
    assert rejections == [(2, 4, "no_lab_code"), (3, 5, "no_identity"), (4, 6, "field_count")]
    # and the rejects file is 0600 with where, why and the failing column; the database keeps no content
    assert stat.S_IMODE(rejects.stat().st_mode) == 0o600
    with rejects.open(encoding="utf-8", newline="") as fh:
        lines = list(csv.reader(fh, delimiter=";"))
    assert lines[0] == REJECTS_HEADER
    assert [line[:4] for line in lines[1:]] == [
        ["2", "4", "no_lab_code", "CODE_LABO"],
        ["3", "5", "no_identity", "NOM / NUM_SECU"],
        ["4", "6", "field_count", ""],
    ]
    assert "extra" not in rejects.read_text() and "Martin" not in rejects.read_text()
    assert "Martin" not in json.dumps(list(ImportRejection.objects.values()))
    # and the multi-line address is kept as one address
    assert Patient.objects.get(last_name="Martin").address_line == "3 rue de la Paix Bâtiment B; escalier 2"


def test_flawed_fields_are_accepted_and_flagged(tmp_path, breach):
    # given a wrong NIR key, an unusable email, an impossible birth date
    good = nir("2530735238004")
    wrong_key = good[:13] + f"{(int(good[13:]) % 97) + 1:02d}"
    rows = [
        row(NUM_SECU=wrong_key, EMAIL="jean.dupont@"),
        row(NOM="Durand", NUM_SECU="", DATE_NAISSANCE="31/02/1980", EMAIL="n/a"),
    ]
    # when imported
    _import(tmp_path, breach, rows)
    # then both are patients, flagged, without an email channel
    martin = Patient.objects.get(last_name="Martin")
    durand = Patient.objects.get(last_name="Durand")
    assert martin.nir_valid is False
    assert set(martin.data_issues) == {"nir_invalid", "email_invalid"}
    assert durand.birth_date is None
    assert set(durand.data_issues) == {"birth_date_invalid", "email_invalid"}
    assert martin.email == durand.email == ""
    assert durand.nir_valid is None


def test_exposure_categories_are_per_row_and_their_union_per_patient(tmp_path, breach):
    # given two rows of one person: one with a password and a neutral comment, one with an HIV comment
    rows = [
        row(MDP_PORTAIL="azerty", COMMENTAIRE="à jeun", GROUPE_SANGUIN="A+"),
        row(NUM_DOSSIER="D2", COMMENTAIRE_MEDICAL="VIH positif", ORGANISME="CPAM", TEL_PORTABLE="06 12 34 56 78"),
    ]
    # when imported
    _import(tmp_path, breach, rows)
    # then each record has its own categories and the patient their union
    first, second = ExposedRecord.objects.order_by("record_number")
    assert {"portal_password", "blood_group", "medical_comment"} <= set(names(first.exposure_mask, Exposure))
    assert "insurer" not in names(first.exposure_mask, Exposure)
    assert names(first.sensitive_mask, Sensitive) == ["other_medical"]
    assert names(second.sensitive_mask, Sensitive) == ["hiv"]
    patient = Patient.objects.get()
    assert set(patient.exposure_categories) == {
        "identity", "birth_date", "nir", "postal_address", "phone", "blood_group", "prescriber", "insurer",
        "medical_comment", "portal_password",
    }  # fmt: skip
    assert patient.sensitive_classes == ["hiv", "other_medical"]
    assert patient.mobile_phone == "+33612345678"
    assert patient.landline_phone == "+33299123456"


def test_a_persons_rows_far_apart_in_the_file_still_make_one_patient(tmp_path, breach, monkeypatch):
    # given generations of 2 records (patients are written one generation after their first row), and Anne's
    # three rows far apart: her patient is written before her second and third rows are read
    from patients import services

    monkeypatch.setattr(services, "GENERATION_RECORDS", 2)
    others = [
        row(NOM=name, NUM_SECU="", NUM_DOSSIER=f"O{i}", TEL_FIXE="")
        for i, name in enumerate(["Bernard", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau"])
    ]
    rows = [
        row(TEL_FIXE=""),
        *others[:4],
        row(NUM_DOSSIER="D2", EMAIL="anne@example.org", COMMENTAIRE_MEDICAL="enceinte"),
        *others[4:],
        row(NUM_DOSSIER="D3", TEL_PORTABLE="06 12 34 56 78", MDP_PORTAIL="azerty"),
    ]
    # when imported
    result = _import(tmp_path, breach, rows)
    # then Anne is one patient holding what every row brought, and every record names a written patient
    assert (result.batch.rows_accepted, result.batch.patients_created) == (10, 8)
    assert Patient.objects.count() == 8
    anne = Patient.objects.get(last_name="Martin")
    assert anne.record_count == 3 == ExposedRecord.objects.filter(patient=anne).count()
    # (her first row had no landline: a later row fills it in on the written patient)
    assert (anne.email, anne.mobile_phone, anne.landline_phone) == ("anne@example.org", "+33612345678", "+33299123456")
    assert {"email", "medical_comment", "portal_password", "phone"} <= set(anne.exposure_categories)
    assert anne.sensitive_classes == ["pregnancy"]
    assert sum(Patient.objects.values_list("record_count", flat=True)) == ExposedRecord.objects.count() == 10


def test_unmapped_non_empty_columns_count_as_other_administrative_data(tmp_path, breach):
    # given a row with RANG_CPAM filled, and one without any unmapped column
    rows = [row(RANG_CPAM="1"), row(NOM="Durand", NUM_SECU="")]
    # when imported
    _import(tmp_path, breach, rows)
    # then only the first patient has other_admin
    assert "other_admin" in Patient.objects.get(last_name="Martin").exposure_categories
    assert "other_admin" not in Patient.objects.get(last_name="Durand").exposure_categories


def test_minors_are_decided_by_age_and_by_civility_only_without_a_birth_date(tmp_path, breach):
    # given a "Bébé" born long ago (an adult now), a child by birth date, an adult, and an "Enfant" whose
    # birth date is unreadable (the civility is then the only hint)
    rows = [
        row(NOM="A", NUM_SECU="", CIVILITE="Bébé", DATE_NAISSANCE="01/01/1990"),
        row(NOM="B", NUM_SECU="", CIVILITE="", DATE_NAISSANCE="01/01/2020"),
        row(NOM="C", NUM_SECU="", CIVILITE="M.", DATE_NAISSANCE="01/01/1960"),
        row(NOM="D", NUM_SECU="", CIVILITE="Enfant", DATE_NAISSANCE="31/02/20xx"),
    ]
    # when imported
    _import(tmp_path, breach, rows)
    # then
    minors = dict(Patient.objects.values_list("last_name", "is_minor"))
    assert minors == {"A": False, "B": True, "C": False, "D": True}


def test_a_cp1252_file_with_commas_and_crlf_is_read(tmp_path, breach):
    # given a Windows-encoded, comma-separated, CRLF file
    rows = [row(NOM="Lefèvre", PRENOM="Hélène", ADRESSE1="5, allée des Chênes")]
    # when imported
    result = _import(tmp_path, breach, rows, encoding="cp1252", delimiter=",", eol="\r\n")
    # then accents and the quoted comma survive
    patient = Patient.objects.get()
    assert (result.source.encoding, result.source.delimiter) == ("cp1252", ",")
    assert (patient.last_name, patient.first_name, patient.address_line) == ("Lefèvre", "Hélène", "5, allée des Chênes")


def test_a_utf8_file_with_a_bom_and_tabs_is_read(tmp_path, breach):
    # given UTF-8 with a byte-order mark and tab separators
    rows = [row(NOM="Lefèvre")]
    # when imported
    result = _import(tmp_path, breach, rows, encoding="utf-8-sig", delimiter="\t")
    # then the first header is recognised despite the BOM
    assert (result.source.encoding, result.source.delimiter) == ("utf-8-sig", "\t")
    assert Patient.objects.get().last_name == "Lefèvre"


def test_a_record_with_bytes_that_are_not_utf8_is_rejected_as_undecodable(tmp_path, breach):
    # given a UTF-8 file (accents) where one record holds a stray byte
    path = write_leak(tmp_path / "leak.csv", [row(NOM="Lefèvre"), row(NOM="Zzz", NUM_DOSSIER="D2")])
    path.write_bytes(path.read_bytes().replace(b"Zzz", b"Z\xffz"))
    # when imported
    result = leak_import(path=path, breach=breach, allow_new_laboratories=True)
    # then the file stays UTF-8 and only that record is rejected
    assert result.source.encoding == "utf-8"
    assert list(ImportRejection.objects.values_list("record_number", "reason")) == [(2, "undecodable")]
    assert Patient.objects.get().last_name == "Lefèvre"


def test_english_headers_are_recognised_case_and_accent_insensitively(tmp_path, breach):
    # given a file with other headers
    header = ["Laboratory", "Last Name", "first_name", "Date de Naissance", "N.I.R.", "E-mail", "Notes"]
    rows = [["L9", "Smith", "Jo", "1980-01-02", nir("1800175123456"), "JO@EXAMPLE.ORG", "pregnant"]]
    # when imported without a mapping
    result = _import(tmp_path, breach, rows, header=header)
    # then every column found its field
    patient = Patient.objects.get()
    assert (patient.laboratory.code, patient.last_name, patient.email) == ("L9", "Smith", "jo@example.org")
    assert patient.sensitive_classes == ["pregnancy"]
    assert result.batch.mapping["nir"] == ["N.I.R."]


def test_an_explicit_mapping_joins_columns_and_leaves_the_rest_as_other_data(tmp_path, breach):
    # given odd headers and a mapping file
    header = ["site", "nom_famille", "rue", "complement", "x"]
    rows = [["S1", "Roux", "1 rue A", "app. 3", "something"]]
    mapping = tmp_path / "mapping.json"
    mapping.write_text(
        json.dumps({"lab_code": "site", "last_name": "NOM_FAMILLE", "address_line": ["rue", "complement"]})
    )
    # when imported with it
    _import(tmp_path, breach, rows, header=header, mapping_path=mapping)
    # then
    patient = Patient.objects.get()
    assert patient.address_line == "1 rue A app. 3"
    assert "other_admin" in patient.exposure_categories


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"lab_code": "CODE_LABO", "surname": "NOM"}, "unknown canonical name"),
        ({"lab_code": "CODE_LABO", "last_name": "LASTNAME"}, "is not in the file's header"),
        ({"last_name": "NOM"}, "laboratory code"),
        ({"lab_code": "CODE_LABO", "last_name": []}, "non-empty list"),
        (["CODE_LABO"], "JSON object"),
    ],
)
def test_a_bad_mapping_is_a_clear_error_and_nothing_is_written(tmp_path, breach, mapping, message):
    # given a mapping that cannot apply
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps(mapping))
    # when / then
    with pytest.raises(ValueError, match=message):
        _import(tmp_path, breach, [row()], mapping_path=path)
    assert not ImportBatch.objects.exists()
    assert not Laboratory.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
        (b"CODE_LABO;NOM;NUM_SECU\r\n", "header only"),
        (b"\n\n\n", "no header"),
        # a header field past the CSV reader's limit (found by tests/patients/test_import_fuzz.py: a TypeError)
        (b"CODE_LABO;NOM;" + b"A" * 200_000 + b"\nLAB01;Martin;x\n", "unreadable header line"),
    ],
)
def test_unusable_files_are_refused_before_anything_is_written(tmp_path, breach, content, message):
    # given an unusable file
    path = tmp_path / "leak.csv"
    path.write_bytes(content)
    # when / then
    with pytest.raises(ImportInputError, match=message):
        leak_import(path=path, breach=breach, rejects_path=tmp_path / "rejects.csv")
    assert not ImportBatch.objects.exists()
    assert not (tmp_path / "rejects.csv").exists()
    assert not list(tmp_path.glob("*.part"))


def test_a_missing_file_is_refused(tmp_path, breach):
    # given / when / then
    with pytest.raises(ImportInputError, match="file not found"):
        leak_import(path=tmp_path / "nope.csv", breach=breach)


def test_importing_the_same_file_twice_changes_nothing(tmp_path, breach):
    # given a file already imported
    rows = [row(), row(NOM="Durand", NUM_SECU="", NUM_DOSSIER="D2")]
    first = _import(tmp_path, breach, rows)
    # when imported again
    second = _import(tmp_path, breach, rows)
    # then it says so and nothing was added
    assert (first.already_imported, second.already_imported) == (False, True)
    assert second.batch.pk == first.batch.pk
    assert ImportBatch.objects.count() == 1
    assert ExposedRecord.objects.count() == 2
    assert sum(Patient.objects.values_list("record_count", flat=True)) == 2


def test_a_second_file_adds_to_the_patients_already_known(tmp_path, breach):
    # given a first file imported
    _import(tmp_path, breach, [row()], name="a.csv")
    # when another file brings the same person with an email, and a new person
    _import(
        tmp_path,
        breach,
        [row(NUM_DOSSIER="D7", EMAIL="anne@example.org", COMMENTAIRE="enceinte"), row(NOM="Neuf", NUM_SECU="")],
        name="b.csv",
    )
    # then the known patient gains a record, the email and the class; the new one is created
    anne = Patient.objects.get(last_name="Martin")
    assert (anne.record_count, anne.email, anne.sensitive_classes) == (2, "anne@example.org", ["pregnancy"])
    assert Patient.objects.count() == 2
    assert ImportBatch.objects.filter(status="succeeded").count() == 2


def test_a_failed_import_leaves_only_a_failed_batch_and_can_be_run_again(tmp_path, breach, monkeypatch):
    # given an import that breaks while writing patients
    from patients import services

    path = write_leak(tmp_path / "leak.csv", [row(), row(NOM="Durand", NUM_SECU="")])

    def broken(self, drafts):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services._Writer, "write_new_patients", broken)
    with pytest.raises(RuntimeError):
        leak_import(path=path, breach=breach, allow_new_laboratories=True)
    # then nothing but a failed batch remains
    batch = ImportBatch.objects.get()
    assert (batch.status, batch.rows_read) == ("failed", 0)
    assert "disk full" in batch.error
    assert not Patient.objects.exists() and not ExposedRecord.objects.exists()
    # when run again once the cause is gone
    monkeypatch.undo()
    result = leak_import(path=path, breach=breach, allow_new_laboratories=True)
    # then it completes
    assert (result.already_imported, result.batch.status) == (False, "succeeded")
    assert Patient.objects.count() == 2


def test_an_unwritable_rejects_file_is_a_clear_error_and_nothing_is_written(tmp_path, breach):
    # given a rejects path inside a file (not a directory)
    (tmp_path / "blocker").write_text("x")
    path = write_leak(tmp_path / "leak.csv", [row()])
    # when / then
    with pytest.raises(ImportInputError, match="cannot write the rejects file"):
        leak_import(path=path, breach=breach, rejects_path=tmp_path / "blocker" / "rejects.csv")
    assert not ImportBatch.objects.exists()
    assert not Patient.objects.exists()


def test_progress_is_reported_while_reading_and_ends_at_the_file_size(tmp_path, breach, monkeypatch):
    # given a progress callback called every record
    from patients import services

    monkeypatch.setattr(services, "PROGRESS_EVERY", 1)
    calls = []
    path = write_leak(tmp_path / "leak.csv", [row(), row(NUM_DOSSIER="D2"), row(NOM="B", NUM_SECU="")])
    # when imported
    leak_import(
        path=path,
        breach=breach,
        allow_new_laboratories=True,
        progress=lambda read, done, total: calls.append((read, done, total)),
    )
    # then it counted up the records and finished at 100 %
    size = path.stat().st_size
    assert [read for read, _, _ in calls] == [1, 2, 3, 3]
    assert calls[-1] == (3, size, size)


def test_an_import_is_in_the_audit_trail_once_with_its_counts(tmp_path, breach):
    # given / when the same file is imported twice
    from labs.audit import AuditEvent

    rows = [row()]
    first = _import(tmp_path, breach, rows)
    _import(tmp_path, breach, rows)
    # then one import event, naming the batch and its accounting
    events = AuditEvent.objects.filter(action="import")
    assert events.count() == 1
    event = events.get()
    assert event.object_id == str(first.batch.pk)
    assert event.extra["rows_read"] == event.extra["rows_accepted"] + event.extra["rows_rejected"] == 1


def test_a_rows_values_are_named_in_the_order_the_folder_picks_them():
    # given the canonical fields the folder picks from each row (comments are read column by column)
    picked = tuple(name for name in CANONICAL_FIELDS if name != "comment")
    # then RowValues names them in that very order: a field added to the mapping must be added there too
    assert picked == _FIELDS
    assert RowValues._fields == picked
