"""What an import may create and keep: no phantom laboratory, a rejects file without the leaked row, purged."""

from __future__ import annotations

import csv
import datetime as dt
import os
import stat

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from labs.models import Laboratory
from patients.importer import REJECTS_HEADER
from patients.models import ImportBatch, ImportRejection, Patient
from patients.services import import_rejects_purge, leak_import
from patients.tasks import import_rejects_purge_task
from tests.factories import BreachFactory, LaboratoryFactory
from tests.patients.leak_files import nir, row, write_leak
from tests.test_formula_safe_exports import unsafe_csv_cells

from .test_import_command import _run

pytestmark = pytest.mark.django_db

NIR = nir("2530735238004")


@pytest.fixture
def breach():
    return BreachFactory(slug="leak-2021")


@pytest.fixture
def lab01():
    return LaboratoryFactory(code="LAB01", name="Laboratoire des Remparts")


def read_rejects(path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle, delimiter=";"))


# --- unknown laboratory codes --------------------------------------------------------------------
def test_an_unknown_laboratory_code_is_a_rejected_row_with_its_line_and_a_french_reason(tmp_path, breach, lab01):
    # given a known laboratory and a row whose code was corrupted (LAB01 → LABO1)
    path = write_leak(tmp_path / "leak.csv", [row(), row(CODE_LABO="LABO1", NUM_DOSSIER="D2", NOM="Durand")])
    # when imported without allowing new laboratories
    result = leak_import(path=path, breach=breach, rejects_path=tmp_path / "rejects.csv")
    # then no phantom laboratory: the row is rejected at its line, with a French reason naming the code
    assert list(Laboratory.objects.values_list("code", flat=True)) == ["LAB01"]
    batch = result.batch
    assert (batch.rows_read, batch.rows_accepted, batch.rows_rejected) == (2, 1, 1)
    rejection = ImportRejection.objects.get(batch=batch)
    assert (rejection.record_number, rejection.line_number, rejection.reason) == (2, 3, "unknown_lab_code")
    assert rejection.message.startswith("code de laboratoire inconnu « LABO1 »")
    assert "--allow-new-laboratories" in rejection.message
    assert read_rejects(tmp_path / "rejects.csv")[1][:4] == ["2", "3", "unknown_lab_code", "CODE_LABO"]
    assert not Patient.objects.filter(last_name="Durand").exists()


def test_allowing_new_laboratories_creates_them_and_says_so_in_the_audit_trail(tmp_path, breach, lab01):
    # given a file naming a laboratory not yet known
    path = write_leak(tmp_path / "leak.csv", [row(), row(CODE_LABO="LAB02", NUM_DOSSIER="D2")])
    # when the operator allows this file to create laboratories
    result = leak_import(path=path, breach=breach, allow_new_laboratories=True)
    # then it is created and every row accepted; the trail records the choice
    assert set(Laboratory.objects.values_list("code", flat=True)) == {"LAB01", "LAB02"}
    assert result.batch.rows_rejected == 0
    from labs.models import AuditEvent

    assert AuditEvent.objects.get(action="import").extra["allow_new_laboratories"] is True


def test_the_command_rejects_unknown_codes_unless_told_to_create_laboratories(tmp_path, capsys, breach, lab01):
    # given a file with one known and one unknown code
    path = write_leak(tmp_path / "leak.csv", [row(), row(CODE_LABO="LAB9", NUM_DOSSIER="D2")])
    other = write_leak(tmp_path / "other.csv", [row(NUM_DOSSIER="D3"), row(CODE_LABO="LAB9", NUM_DOSSIER="D4")])
    # when imported without, then (another file) with --allow-new-laboratories
    code, out, _ = _run(capsys, str(path), "--breach", breach.slug)
    assert code == 0 and "rejetés / rejected: 1" in out
    assert not Laboratory.objects.filter(code="LAB9").exists()
    code, out, _ = _run(capsys, str(other), "--breach", breach.slug, "--allow-new-laboratories")
    # then the second run created it
    assert code == 0 and "rejetés / rejected: 0" in out
    assert Laboratory.objects.filter(code="LAB9").exists()


# --- the rejects file ----------------------------------------------------------------------------
def test_the_rejects_file_keeps_where_and_why_but_never_the_comment_password_or_clear_nir(tmp_path, breach, lab01):
    # given rejected rows full of leaked data: an unknown laboratory, bad bytes, a wrong field count
    secrets = {"comment": "VIH positif sous trithérapie", "password": "Azerty!2021", "email": "anne@example.org"}
    rows = [
        row(CODE_LABO="LABX", NOM="Lefèvre", NUM_SECU=NIR, COMMENTAIRE_MEDICAL=secrets["comment"], MDP_PORTAIL=secrets["password"],
            EMAIL=secrets["email"]),
        row(NUM_DOSSIER="D2", NOM="Zzz", NUM_SECU=NIR, COMMENTAIRE=secrets["comment"]),
        f"LAB01;D3;;Mme;Martin;Anne;;05/07/1953;{NIR};;3 rue;;35000;Rennes;{secrets['password']};extra",
        row(NUM_DOSSIER="D4", NOM="Durand", NUM_SECU=""),  # accepted: the file is not refused as a whole
    ]  # fmt: skip
    path = write_leak(tmp_path / "leak.csv", rows)
    path.write_bytes(path.read_bytes().replace(b"Zzz", b"Z\xffz"))  # UTF-8 (an accent before) with a bad byte
    rejects = tmp_path / "rejects.csv"
    # when imported
    result = leak_import(path=path, breach=breach, rejects_path=rejects)
    # then each rejection has its line, reason and failing column; the masked NIR identifies the row
    assert result.batch.rows_rejected == 3
    lines = read_rejects(rejects)
    assert lines[0] == REJECTS_HEADER
    by_reason = {line[2]: line for line in lines[1:]}
    assert by_reason["unknown_lab_code"][3] == "CODE_LABO"
    assert by_reason["unknown_lab_code"][5:] == ["LABX", "D0001", "2 53 •• •• ••• ••• " + NIR[13:]]
    assert by_reason["undecodable"][3] == "NOM"
    assert by_reason["field_count"][5:] == ["", "", ""]  # not aligned with the header: nothing of the row
    # and nothing else of the leaked rows: no comment, password, email, name or NIR in clear; private file
    text = rejects.read_text(encoding="utf-8")
    for secret in [*secrets.values(), NIR, NIR[:13], "Lefèvre", "Martin", "Durand", "Rennes"]:
        assert secret not in text
    assert stat.S_IMODE(rejects.stat().st_mode) == 0o600
    assert unsafe_csv_cells(text, delimiter=";") == []


def test_a_hostile_laboratory_code_comes_out_as_text_in_the_rejects_file(tmp_path, breach, lab01):
    # given a row whose laboratory code would start a formula
    path = write_leak(tmp_path / "leak.csv", [row(), row(CODE_LABO='=HYPERLINK("http://x")', NUM_DOSSIER="@D2")])
    rejects = tmp_path / "rejects.csv"
    # when imported
    leak_import(path=path, breach=breach, rejects_path=rejects)
    # then the code is kept as text: 0 cells a spreadsheet would run
    text = rejects.read_text(encoding="utf-8")
    assert "HYPERLINK" in text
    assert unsafe_csv_cells(text, delimiter=";") == []


# --- retention -----------------------------------------------------------------------------------
def _age(path, days: float) -> None:
    then = (timezone.now() - dt.timedelta(days=days)).timestamp()
    os.utime(path, (then, then))


def test_rejects_files_are_purged_after_the_retention_and_not_before(tmp_path, breach, lab01, settings):
    # given two imports with rejects (one made 31 days ago, one today) and a stray ".part" of 40 days
    settings.IMPORT_REJECTS_RETENTION_DAYS = 30
    old_file, new_file = tmp_path / "old-rejects.csv", tmp_path / "new-rejects.csv"
    old = leak_import(path=write_leak(tmp_path / "a.csv", [row(CODE_LABO="")]), breach=breach, rejects_path=old_file)
    new = leak_import(path=write_leak(tmp_path / "b.csv", [row(NOM="", NUM_SECU="")]), breach=breach,
                      rejects_path=new_file)  # fmt: skip
    ImportBatch.objects.filter(pk=old.batch.pk).update(created_at=timezone.now() - dt.timedelta(days=31))
    stray = django_settings.IMPORT_REJECTS_DIR / "crashed-rejects.csv.part"
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_text("x")
    _age(stray, 40)
    # when the daily task runs (twice)
    purged = import_rejects_purge_task()
    again = import_rejects_purge()
    # then the old file and the stray one are gone, the recent one kept, the batch no longer points at it
    assert (purged, again) == (2, 0)
    assert not old_file.exists() and not stray.exists() and new_file.exists()
    old.batch.refresh_from_db()
    new.batch.refresh_from_db()
    assert old.batch.rejects_file == "" and new.batch.rejects_file == str(new_file)
    assert old.batch.rejections.count() == 1  # the accounting stays


def test_the_purge_runs_daily_from_beat():
    entry = django_settings.CELERY_BEAT_SCHEDULE["patients-import-rejects-purge"]
    assert entry["task"] == import_rejects_purge_task.name
    assert entry["schedule"] == 24 * 3600


def test_a_file_whose_every_laboratory_is_unknown_is_refused_so_it_can_be_run_again_with_the_option(
    tmp_path, capsys, breach
):
    # given no laboratory yet and a file naming two
    path = write_leak(tmp_path / "leak.csv", [row(), row(CODE_LABO="LAB02", NUM_DOSSIER="D2")])
    # when imported without the option
    code, out, err = _run(capsys, str(path), "--breach", breach.slug)
    # then nothing is recorded (exit 2, one French line naming the codes) ...
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "aucun code de laboratoire du fichier n'est connu (LAB01, LAB02)" in err
    assert not ImportBatch.objects.exists() and not Laboratory.objects.exists()
    # ... so that the same file imports once the operator allows it
    code, out, _ = _run(capsys, str(path), "--breach", breach.slug, "--allow-new-laboratories")
    assert code == 0 and "acceptés / accepted: 2" in out
