from __future__ import annotations

import json
import stat

import pytest
from django.core.management import call_command

from patients.management.commands.import_leak import Command
from patients.models import ImportBatch
from tests.factories import BreachFactory
from tests.patients.leak_files import row, write_leak

pytestmark = pytest.mark.django_db

JSON_KEYS = {
    "rows_read", "rows_accepted", "rows_rejected", "patients", "laboratories", "patients_by_lab",
    "sensitive_patients", "patients_with_email", "patients_with_postal_address", "patients_with_phone",
    "patients_with_nir_exposed", "patients_with_password_exposed", "rejects_file", "seconds",
}  # fmt: skip


def _run(capsys, *args) -> tuple[int, str, str]:
    """Run the command as `manage.py` would: exit code, stdout, stderr."""
    code = 0
    try:
        Command().run_from_argv(["manage.py", "import_leak", *args])
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_output_is_exactly_one_object_with_the_breach_wide_counts(tmp_path, capsys):
    # given a breach and a file with one rejected record
    BreachFactory(slug="b")
    path = write_leak(
        tmp_path / "leak.csv",
        [row(EMAIL="a@example.org", MDP_PORTAIL="x", COMMENTAIRE="aveugle"), row(CODE_LABO=""), row(CODE_LABO="L2")],
    )
    rejects = tmp_path / "rejects.csv"
    # when imported with --json
    code, out, err = _run(
        capsys, str(path), "--breach", "b", "--rejects", str(rejects), "--allow-new-laboratories", "--json"
    )
    # then stdout is one JSON object with the counts
    assert code == 0
    summary = json.loads(out)
    assert set(summary) >= JSON_KEYS
    assert (summary["rows_read"], summary["rows_accepted"], summary["rows_rejected"]) == (3, 2, 1)
    assert summary["patients_by_lab"] == {"LAB01": 1, "L2": 1}
    assert (summary["patients"], summary["laboratories"]) == (2, 2)
    assert summary["sensitive_patients"]["disability"] == 1
    assert (summary["patients_with_email"], summary["patients_with_password_exposed"]) == (1, 1)
    assert (summary["patients_with_nir_exposed"], summary["patients_with_postal_address"]) == (2, 2)
    assert summary["rejects_file"] == str(rejects)
    assert stat.S_IMODE(rejects.stat().st_mode) == 0o600


def test_a_second_run_says_already_imported_and_exits_zero(tmp_path, capsys):
    # given a file imported once
    BreachFactory(slug="b")
    path = write_leak(tmp_path / "leak.csv", [row()])
    call_command("import_leak", str(path), "--breach", "b", "--allow-new-laboratories", stdout=None)
    capsys.readouterr()
    # when run again
    code, out, _ = _run(capsys, str(path), "--breach", "b")
    # then it says so, without error, and adds nothing
    assert code == 0
    assert "déjà importé" in out and "already imported" in out
    assert ImportBatch.objects.count() == 1


def test_readable_summary_lists_labs_and_sensitive_classes(tmp_path, capsys):
    # given
    BreachFactory(slug="b")
    path = write_leak(tmp_path / "leak.csv", [row(COMMENTAIRE="Grossesse 12 SA")])
    # when
    code, out, _ = _run(capsys, str(path), "--breach", "b", "--allow-new-laboratories")
    # then
    assert code == 0
    assert "LAB01: 1" in out
    assert "pregnancy 1" in out


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("unknown_breach", "unknown breach"),
        ("missing_file", "file not found"),
        ("header_only", "header only"),
        ("bad_mapping", "not valid JSON"),
    ],
)
def test_bad_input_is_one_clear_stderr_line_and_exit_code_2(tmp_path, capsys, setup, message):
    # given
    BreachFactory(slug="b")
    path = tmp_path / "leak.csv"
    args = [str(path), "--breach", "b"]
    if setup == "unknown_breach":
        write_leak(path, [row()])
        args = [str(path), "--breach", "nope"]
    elif setup == "header_only":
        write_leak(path, [])
    elif setup == "bad_mapping":
        write_leak(path, [row()])
        (tmp_path / "m.json").write_text("{not json")
        args += ["--mapping", str(tmp_path / "m.json")]
    # when
    code, out, err = _run(capsys, *args)
    # then
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert message in err
    assert not ImportBatch.objects.exists()
