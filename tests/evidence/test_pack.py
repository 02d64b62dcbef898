"""The evidence pack's content, checked in the real zip: its manifest verifies, the DPO's version holds the
patient-level summaries, the CNIL liaison's holds no patient-level data in any file."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from evidence.models import EvidencePack
from evidence.services import FAILED, STEPS_TOTAL, evidence_pack_build, evidence_pack_request
from labs.storage import private_storage

from .conftest import evidence_pack_path, file_text, pack_zip, patient_needles

pytestmark = pytest.mark.django_db


def _built(world, kind: str) -> EvidencePack:
    pack = evidence_pack_request(case_file=world.case_file, kind=kind, by=None, enqueue=False)
    assert evidence_pack_build(pack_id=pack.pk)
    pack.refresh_from_db()
    return pack


def _assert_the_manifest_verifies_every_file_of_the_real_zip(pack, tmp_path):
    path = evidence_pack_path(pack)
    # then the zip is the one the row describes, readable by its owner only
    assert hashlib.sha256(path.read_bytes()).hexdigest() == pack.sha256
    assert path.stat().st_size == pack.size and (path.stat().st_mode & 0o777) == 0o600
    with pack_zip(pack) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
        listed = {entry["path"]: entry for entry in manifest["files"]}
        # every file but the manifest itself is listed, with the sha256 and size recomputed from its bytes
        assert set(names) == set(listed) | {"manifest.json", "MANIFEST.sha256"} and len(names) == pack.files
        for name, entry in listed.items():
            data = archive.read(name)
            assert entry["sha256"] == hashlib.sha256(data).hexdigest(), name
            assert entry["size"] == len(data) and entry["description"], name
        lines = archive.read("MANIFEST.sha256").decode().splitlines()
        assert {line.split("  ", 1)[1] for line in lines} == set(listed) | {"manifest.json"}
        archive.extractall(tmp_path / "pack")
    # and the tool the recipient has says so too
    check = subprocess.run(["sha256sum", "-c", "MANIFEST.sha256"], cwd=tmp_path / "pack", capture_output=True,
                           text=True, check=False)  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count(": OK") == len(names) - 1
    # and a changed file no longer verifies
    tampered = tmp_path / "pack" / "03-decision-art-34" / "decision.txt"
    tampered.write_text(tampered.read_text() + "ajout\n")
    again = subprocess.run(["sha256sum", "-c", "MANIFEST.sha256"], cwd=tmp_path / "pack", capture_output=True,
                           text=True, check=False)  # fmt: skip
    assert again.returncode != 0 and "decision.txt: FAILED" in again.stdout


def test_the_dpo_version_verifies_and_holds_every_piece_with_the_patient_level_summaries(world, tmp_path):
    # given / when
    pack = _built(world, "dpo")
    # then its manifest verifies (recomputed from the zip, and by sha256sum) and its README is French
    _assert_the_manifest_verifies_every_file_of_the_real_zip(pack, tmp_path)
    _assert_the_readme_is_french_and_says_how_to_verify(pack, "dpo")
    with pack_zip(pack) as archive:
        names = set(archive.namelist())
        texts = {name: file_text(name, archive.read(name)) for name in names}
    # then the filing as sent, its receipt, the register, the decision, trails, figures, returns, kit and audit
    assert {"01-notifications-cnil/notification-01-initial.pdf", "01-notifications-cnil/notification-01-initial.json",
            "01-notifications-cnil/accuse-reception-01.pdf", "02-registre/registre.pdf", "02-registre/registre.csv",
            "03-decision-art-34/decision.txt", "04-campagnes/campagnes.csv", "04-campagnes/historique.csv",
            "05-envois/envois-par-canal-et-etat.csv", "06-retours-courrier/synthese.csv",
            "06-retours-courrier/retours-par-lettre.csv", "07-communication-publique/communication-publique.txt",
            "08-centre-appels/kit-fr.pdf", "08-centre-appels/kit-en.pdf", "09-journal-audit/journal.csv",
            "README.txt"} <= names  # fmt: skip
    from labs.receipts import receipt_bytes

    with pack_zip(pack) as archive:
        assert archive.read("01-notifications-cnil/accuse-reception-01.pdf") == receipt_bytes(
            world.case_file.filings.get().receipt_name
        )
    assert "Laboratoire des Remparts" in texts["01-notifications-cnil/notification-01-initial.pdf"]
    assert (
        json.loads(texts["01-notifications-cnil/notification-01-initial.json"])
        == world.case_file.filings.get().snapshot
    )
    assert "Douze adresses introuvables" in texts["03-decision-art-34/decision.txt"]
    public = texts["07-communication-publique/communication-publique.txt"]
    assert "Site web — Site du laboratoire" in public.replace("site web", "Site web") and "Avis aux patients" in public
    trail = texts["04-campagnes/historique.csv"]
    for action in ("création", "approbation (quatre yeux)", "lancement", "lot remis à l'imprimeur / La Poste"):
        assert f";{action};" in trail, action
    assert "alice" in texts["04-campagnes/campagnes.csv"] and "bob" in texts["04-campagnes/campagnes.csv"]
    # the DPO's own reads are in the audit extract, and the returned letter by its reference
    assert world.returned.reference in texts["06-retours-courrier/retours-par-lettre.csv"]
    assert world.patients[1].last_name in texts["09-journal-audit/journal.csv"]
    assert "Accès de l'éditeur coupé." in texts["08-centre-appels/kit-fr.pdf"]
    # never the medical comment: the import keeps none, and no file names a condition class
    assert not any("comment" in text.lower() and "medical" in text.lower() for text in texts.values())


def test_the_liaison_version_verifies_and_holds_no_patient_level_data_in_any_file(world, tmp_path):
    # given both versions of the same case file
    dpo_pack, liaison_pack = _built(world, "dpo"), _built(world, "liaison")
    _assert_the_manifest_verifies_every_file_of_the_real_zip(liaison_pack, tmp_path)
    _assert_the_readme_is_french_and_says_how_to_verify(liaison_pack, "liaison")
    needles = patient_needles(world)
    with pack_zip(dpo_pack) as archive:
        dpo_text = "\n".join(file_text(n, archive.read(n)) for n in archive.namelist())
    # the check can fail: the DPO's version does hold patient-level strings
    assert [needle for needle in needles if needle in dpo_text]
    # when every file of the liaison's version is read (PDF text, CSV, JSON, text)
    with pack_zip(liaison_pack) as archive:
        names = archive.namelist()
        found = {
            (name, what, needle)
            for name in names
            for needle, what in needles.items()
            if needle.lower() in file_text(name, archive.read(name)).lower()
        }
    # then no name, phone, email, address, NIR or letter reference is in any of them
    assert found == set()
    assert "06-retours-courrier/retours-par-lettre.csv" not in names
    assert "09-journal-audit/journal.csv" not in names
    assert "09-journal-audit/comptes-par-action.csv" in names
    assert all(not name.endswith(("injoignables.csv", "liste-appels.csv")) for name in names)
    # and its counts under ten are masked: twelve letters posted show, the single return is « < 10 »
    with pack_zip(liaison_pack) as archive:
        summary = file_text("s.csv", archive.read("06-retours-courrier/synthese.csv"))
        sends = file_text("s.csv", archive.read("05-envois/envois-par-canal-et-etat.csv"))
    assert ";lettres remises à La Poste;12" in summary.replace("\r", "")
    assert "revenues : n'habite pas à l'adresse indiquée (NPAI);< 10" in summary
    assert ";< 10" in sends and ";1\r\n" not in sends


def _assert_the_readme_is_french_and_says_how_to_verify(pack, kind):
    with pack_zip(pack) as archive:
        readme = archive.read("README.txt").decode("utf-8")
    assert readme.startswith("DOSSIER DE PREUVES — VIOLATION DE DONNÉES PERSONNELLES")
    assert "sha256sum -c MANIFEST.sha256" in readme and "Chaque fichier doit être annoncé « OK »" in readme
    assert "02-registre/registre.pdf : l'entrée du registre des violations (PDF)" in readme
    flat = " ".join(readme.split())
    assert "aucune donnée de patient" in flat and ("version est celle de la liaison CNIL" in flat) == (
        kind == "liaison"
    )
    english = {" the ", " and ", " file ", " patient data", " with "}
    assert not [word for word in english if word in readme.lower()]


def test_a_second_build_of_the_same_pack_writes_nothing(world):
    pack = _built(world, "dpo")
    files = sorted(os.listdir(evidence_pack_path(pack).parent))
    assert evidence_pack_build(pack_id=pack.pk) is False
    assert sorted(os.listdir(evidence_pack_path(pack).parent)) == files
    pack.refresh_from_db()
    assert pack.status == "ready" and pack.steps_done == pack.steps_total == STEPS_TOTAL


def test_a_failed_build_is_recorded_in_french_and_leaves_no_file(world, settings, tmp_path):
    # given a private storage whose "evidence" folder cannot be created (a file is in the way)
    blocker = Path(private_storage().path("evidence"))
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("x")
    pack = evidence_pack_request(case_file=world.case_file, kind="dpo", by=None, enqueue=False)
    # when it is built
    assert evidence_pack_build(pack_id=pack.pk) is False
    # then the row says so in French, without a traceback
    pack.refresh_from_db()
    assert pack.status == "failed" and pack.error.startswith("La préparation du dossier a échoué")
    assert "Traceback" not in pack.error and "Error" not in pack.error
    assert pack.file_name == "" and not blocker.is_dir()
    assert pack.error == FAILED.format(what="étape « enregistrement du fichier »")
