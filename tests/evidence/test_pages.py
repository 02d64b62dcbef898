"""The evidence packs' pages: who may prepare and download which version, progress, the audited download."""

from __future__ import annotations

import hashlib

import pytest
from django.urls import reverse

from evidence.models import EvidencePack
from evidence.services import STEPS_TOTAL, evidence_pack_request
from labs.audit import AuditEvent
from tests.access_fixtures import login_verified, make_staff
from tests.factories import LaboratoryFactory, case_file_complete

pytestmark = pytest.mark.django_db


def _build_url(version: str, case_file) -> str:
    return reverse(f"evidence:{version}_build", args=[case_file.laboratory_id, case_file.breach_id])


def test_the_dpo_prepares_a_pack_the_celery_task_reaches_every_step_and_the_download_is_the_zip(
    client, dpo, world, django_capture_on_commit_callbacks
):
    # given the DPO on their page, with the button
    login_verified(client, dpo)
    page = client.get(reverse("evidence:dpo")).content.decode()
    assert "Préparer le dossier de preuves" in page and 'name="csrfmiddlewaretoken"' in page
    # when they press it (the task runs eagerly after commit, as in the embedded shape)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_build_url("dpo", world.case_file))
    # then the pack went through every step and is ready
    assert response.status_code == 302
    pack = EvidencePack.objects.get()
    assert (pack.kind, pack.status, pack.requested_by) == ("dpo", "ready", dpo)
    assert pack.steps_done == pack.steps_total == STEPS_TOTAL and pack.finished_at is not None
    page = client.get(reverse("evidence:dpo")).content.decode()
    assert "Télécharger le zip" in page and pack.sha256 in page and 'http-equiv="refresh"' not in page
    # and the download streams that very zip, and is in the audit trail
    download = client.get(reverse("evidence:dpo_download", args=[pack.pk]))
    body = b"".join(download.streaming_content)
    assert download["Content-Type"] == "application/zip" and hashlib.sha256(body).hexdigest() == pack.sha256
    assert (
        "attachment" in download["Content-Disposition"] and "dossier-preuves-LABA-" in download["Content-Disposition"]
    )
    assert AuditEvent.objects.filter(actor=dpo, action="export", object_id=str(pack.pk),
                                     extra__export="evidence_pack").count() == 1  # fmt: skip


def test_a_pack_being_prepared_shows_its_progress_and_refreshes_itself(client, dpo, world):
    # given a pack three steps in
    pack = evidence_pack_request(case_file=world.case_file, kind="dpo", by=dpo, enqueue=False)
    EvidencePack.objects.filter(pk=pack.pk).update(status="building", steps_done=3)
    # when the DPO looks
    page = login_verified(client, dpo).get(reverse("evidence:dpo")).content.decode()
    # then
    assert f"étape 3 sur {STEPS_TOTAL}" in page and f'<progress max="{STEPS_TOTAL}" value="3">' in page
    assert '<meta http-equiv="refresh" content="3">' in page
    # and its download is not offered yet: asked anyway, a French message instead of a file
    response = client.get(reverse("evidence:dpo_download", args=[pack.pk]), follow=True)
    assert "pas encore prêt" in response.content.decode() and response.status_code == 200


def test_the_dpo_of_another_laboratory_gets_404_for_this_case_file_and_its_packs(client, world, dpo_lab_b):
    pack = evidence_pack_request(case_file=world.case_file, kind="dpo", by=None, enqueue=False)
    login_verified(client, dpo_lab_b)
    assert client.post(_build_url("dpo", world.case_file)).status_code == 404
    assert client.get(reverse("evidence:dpo_download", args=[pack.pk])).status_code == 404
    assert "LABA" not in client.get(reverse("evidence:dpo")).content.decode()
    assert EvidencePack.objects.count() == 1


def test_the_liaison_prepares_only_the_version_without_patient_data(
    client, world, cnil_liaison, django_capture_on_commit_callbacks
):
    dpo_pack = evidence_pack_request(case_file=world.case_file, kind="dpo", by=None, enqueue=False)
    login_verified(client, cnil_liaison)
    # refused: the DPO's page, button and download
    assert client.get(reverse("evidence:dpo")).status_code == 403
    assert client.post(_build_url("dpo", world.case_file)).status_code == 403
    assert client.get(reverse("evidence:dpo_download", args=[dpo_pack.pk])).status_code == 403
    # nor through the liaison's download: a DPO version does not exist there
    assert client.get(reverse("evidence:liaison_download", args=[dpo_pack.pk])).status_code == 404
    # allowed: the liaison version of any laboratory
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(_build_url("liaison", world.case_file)).status_code == 302
    pack = EvidencePack.objects.get(kind="liaison")
    assert pack.status == "ready"
    assert client.get(reverse("evidence:liaison_download", args=[pack.pk])).status_code == 200


def test_operators_and_call_centre_agents_are_refused_and_a_get_prepares_nothing(client, world, author, dpo):
    agent = make_staff("agent", role="Centre d'appels", laboratories=[world.case_file.laboratory])
    for user in (author, agent):
        login_verified(client, user)
        for name in ("evidence:dpo", "evidence:liaison"):
            assert client.get(reverse(name)).status_code == 403, (user, name)
        assert client.post(_build_url("dpo", world.case_file)).status_code == 403
        assert client.post(_build_url("liaison", world.case_file)).status_code == 403
    login_verified(client, dpo)
    assert client.get(_build_url("dpo", world.case_file)).status_code == 405
    assert not EvidencePack.objects.exists()


def test_the_dashboards_link_to_the_evidence_pages(client, dpo, cnil_liaison, author):
    lab = LaboratoryFactory(code="LABX")
    login_verified(client, dpo)
    assert reverse("evidence:dpo") in client.get(reverse("dashboards:dpo")).content.decode()
    login_verified(client, author)  # operators see the DPO dashboard but not the packs
    assert reverse("evidence:dpo") not in client.get(reverse("dashboards:dpo")).content.decode()
    login_verified(client, cnil_liaison)
    assert reverse("evidence:liaison") in client.get(reverse("dashboards:cnil")).content.decode()
    assert lab.pk


def test_a_changed_zip_is_not_handed_out(client, dpo, world, django_capture_on_commit_callbacks):
    from .conftest import evidence_pack_path

    login_verified(client, dpo)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(_build_url("dpo", world.case_file))
    pack = EvidencePack.objects.get()
    path = evidence_pack_path(pack)
    path.write_bytes(path.read_bytes() + b"x")
    response = client.get(reverse("evidence:dpo_download", args=[pack.pk]), follow=True)
    assert "a changé depuis sa préparation" in response.content.decode()
    assert not AuditEvent.objects.filter(extra__export="evidence_pack").exists()


def test_a_case_file_without_anything_yet_still_gives_a_pack_that_says_what_is_missing(
    client, breach, django_capture_on_commit_callbacks
):
    lab = LaboratoryFactory(code="LABV")
    case_file = case_file_complete(breach=breach, laboratory=lab)
    root = make_staff("root", superuser=True)
    login_verified(client, root)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(_build_url("dpo", case_file))
    pack = EvidencePack.objects.get()
    assert pack.status == "ready", pack.error
    from .conftest import pack_zip

    with pack_zip(pack) as archive:
        readme = archive.read("README.txt").decode()
    assert "aucune notification n'a été déposée auprès de la CNIL" in readme


def test_a_pack_whose_worker_died_is_marked_interrupted_once(world):
    import datetime as dt

    from django.utils import timezone

    from evidence.services import evidence_packs_interrupted_fail
    from evidence.tasks import evidence_packs_interrupted_fail_task

    # given a pack claimed 40 minutes ago (its unfinished zip was a temporary file of the dead worker), and a fresh one
    old = evidence_pack_request(case_file=world.case_file, kind="dpo", by=None, enqueue=False)
    fresh = evidence_pack_request(case_file=world.case_file, kind="dpo", by=None, enqueue=False)
    EvidencePack.objects.filter(pk=old.pk).update(
        status="building", started_at=timezone.now() - dt.timedelta(minutes=40)
    )
    # when the beat task runs, twice
    assert evidence_packs_interrupted_fail_task.delay().get() == 1
    assert evidence_packs_interrupted_fail() == 0
    # then only the old one failed, in French
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.status == "failed" and old.error.startswith("La préparation du dossier a été interrompue")
    assert fresh.status == "pending"
