"""`manage.py evidence_pack`: the same pack from a shell, French errors with exit 2 on bad input."""

from __future__ import annotations

import hashlib
import json
import zipfile
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from evidence.models import EvidencePack
from evidence.services import STEPS_TOTAL

pytestmark = pytest.mark.django_db


def test_the_command_builds_the_liaison_version_and_writes_a_0600_copy(world, breach, laboratory, tmp_path):
    # given / when
    out, err = StringIO(), StringIO()
    target = tmp_path / "dossier.zip"
    call_command(
        "evidence_pack", breach.slug, laboratory.code, "--liaison", "--out", str(target), stdout=out, stderr=err
    )
    # then a ready liaison pack, its steps printed, a copy identical to it and private
    pack = EvidencePack.objects.get()
    assert (pack.kind, pack.status, pack.requested_by) == ("liaison", "ready", None)
    assert f"[1/{STEPS_TOTAL}] notifications à la CNIL" in err.getvalue()
    assert f"[{STEPS_TOTAL}/{STEPS_TOTAL}] manifeste" in err.getvalue()
    assert "prêt" in out.getvalue() and pack.sha256 in out.getvalue()
    assert hashlib.sha256(target.read_bytes()).hexdigest() == pack.sha256
    assert (target.stat().st_mode & 0o777) == 0o600
    with zipfile.ZipFile(target) as archive:
        assert "09-journal-audit/comptes-par-action.csv" in archive.namelist()


def test_the_command_json_summary(world, breach, laboratory):
    out = StringIO()
    call_command("evidence_pack", breach.slug, laboratory.code, "--json", stdout=out, stderr=StringIO())
    summary = json.loads(out.getvalue())
    assert summary["version"] == "dpo" and summary["sha256"] == EvidencePack.objects.get().sha256


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fuite-inconnue", "LABA"], "Violation inconnue : « fuite-inconnue »"),
        (["fuite-2021", "LABZ"], "Laboratoire inconnu : « LABZ »"),
        (["fuite-2021", "LABA", "--out", "/nulle/part/dossier.zip"], "--out : le dossier /nulle/part n'existe pas."),
    ],
)
def test_bad_input_is_one_french_line_and_exit_2(world, args, message):
    with pytest.raises(CommandError) as error:
        call_command("evidence_pack", *args, stdout=StringIO(), stderr=StringIO())
    assert str(error.value).startswith(message) and error.value.returncode == 2
    assert not EvidencePack.objects.exists()


def test_a_laboratory_without_a_case_file_for_the_breach_is_refused(breach):
    from tests.factories import LaboratoryFactory

    LaboratoryFactory(code="LABN")
    with pytest.raises(CommandError, match="n'a pas de dossier art. 33") as error:
        call_command("evidence_pack", breach.slug, "LABN", stdout=StringIO(), stderr=StringIO())
    assert error.value.returncode == 2
