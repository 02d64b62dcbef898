"""The server shape's files in an S3-compatible bucket (moto's server on loopback, a real HTTP S3 API):
print batches, rejects files, CNIL receipts and letter variants land in the bucket, none on the local disk,
and come back through the same audited views as on the file system.

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/notifier_scale CELERY_BROKER_URL=redis://127.0.0.1:6379/11 \
     .venv/bin/python -m pytest -m integration tests/test_object_storage.py -q -p no:cacheprovider
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from labs import access
from labs.audit import AuditEvent
from labs.services import cnil_filing_record
from labs.storage import private_exists, private_storage
from notifier import launch, postal
from notifier.models import PrintBatch
from patients.services import import_rejects_purge, leak_import
from tests.access_fixtures import login_verified, make_staff
from tests.labs.helpers import complete_case_file
from tests.patients.leak_files import row, write_leak

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "eu-west-3"}


@pytest.fixture
def bucket(s3_endpoint, settings):
    """A fresh private bucket, and the settings' "private" storage pointing at it (as NOTIFIER_S3_* would)."""
    name = f"notifier-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_endpoint, **CREDENTIALS)
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": name, "endpoint_url": s3_endpoint, "region_name": "eu-west-3",
                "access_key": "test", "secret_key": "test", "default_acl": "private", "file_overwrite": True,
                "querystring_expire": 300, "object_parameters": {"ServerSideEncryption": "AES256"},
                "addressing_style": "path", "signature_version": "s3v4",
            },
        },
    }  # fmt: skip
    from letters.variants import _cached_variant

    _cached_variant.cache_clear()  # a fresh host: nothing laid out in this process yet
    client.name = name
    return client


def _keys(bucket) -> list[str]:
    return sorted(item["Key"] for item in bucket.list_objects_v2(Bucket=bucket.name).get("Contents", []))


def test_the_settings_choose_s3_when_a_bucket_is_set(tmp_path):
    # given the environment of a server shape with a bucket, when the settings are loaded in a fresh process
    code = "from django.conf import settings as s; import json; print(json.dumps(s.STORAGES['private']))"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings",
           "NOTIFIER_VAR_DIR": str(tmp_path), "NOTIFIER_S3_BUCKET": "lettres",
           "NOTIFIER_S3_ENDPOINT_URL": "https://s3.example.fr", "NOTIFIER_S3_SERVER_SIDE_ENCRYPTION": "AES256"}  # fmt: skip
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", f"import django; django.setup(); {code}"], cwd=Path(__file__).resolve().parents[1],
        env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    # then the private storage is django-storages' S3 backend, private, encrypted, with 5-minute signed URLs
    import json

    private = json.loads(out.splitlines()[-1])
    assert private["BACKEND"] == "storages.backends.s3.S3Storage"
    options = private["OPTIONS"]
    assert (options["bucket_name"], options["endpoint_url"]) == ("lettres", "https://s3.example.fr")
    assert options["default_acl"] == "private" and options["querystring_expire"] == 300
    assert options["object_parameters"] == {"ServerSideEncryption": "AES256"}


def test_a_print_batch_lands_in_the_bucket_and_downloads_through_the_audited_view(
    bucket, make_patients, make_campaign, approver, laboratory, tmp_path
):
    # given a postal campaign of 3 letters launched on the server shape
    make_patients(3)
    campaign = make_campaign("post")
    launch.campaign_launch(campaign=campaign, by=approver)
    # when a worker builds its print batch (the tasks' services, called here: this run has a real broker)
    assert postal.print_batches_enqueue(campaign=campaign) == 1
    batch = PrintBatch.objects.get(campaign=campaign)
    assert postal.print_batch_build(batch_id=batch.pk)
    batch.refresh_from_db()
    # then its PDF, its manifest and the letters' variants are in the bucket, encrypted, and not on the disk
    keys = _keys(bucket)
    assert f"print/campaign-{campaign.pk}/batch-0001.pdf" in keys
    assert f"print/campaign-{campaign.pk}/batch-0001.csv" in keys
    assert any(key.startswith("letters/variants/") for key in keys)
    head = bucket.head_object(Bucket=bucket.name, Key=batch.pdf_path)
    assert head["ServerSideEncryption"] == "AES256"
    assert not (tmp_path / "print").exists() and not (tmp_path / "letters").exists()
    # and nobody reads it without credentials
    anonymous = boto3.client("s3", endpoint_url=bucket.meta.endpoint_url, **CREDENTIALS)
    acl = anonymous.get_object_acl(Bucket=bucket.name, Key=batch.pdf_path)
    assert not [g for g in acl["Grants"] if g["Grantee"].get("URI", "").endswith("AllUsers")]
    # when the laboratory's DPO downloads the PDF from the admin
    dpo = make_staff("dpo-a", role=access.DPO, laboratories=[laboratory])
    response = login_verified(Client(), dpo).get(reverse("admin:notifier_printbatch_pdf", args=[batch.pk]))
    content = b"".join(response.streaming_content)
    # then it is the bucket's file, streamed, with the checksum kept on the batch, and the download is audited
    stored = bucket.get_object(Bucket=bucket.name, Key=batch.pdf_path)["Body"].read()
    assert response.status_code == 200 and content == stored and content.startswith(b"%PDF")
    assert hashlib.sha256(content).hexdigest() == batch.pdf_sha256
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT, object_id=str(batch.pk)).exists()
    # and a file changed in the bucket is refused, in French
    bucket.put_object(Bucket=bucket.name, Key=batch.pdf_path, Body=b"%PDF-1.7 autre")
    refused = login_verified(Client(), dpo).get(reverse("admin:notifier_printbatch_pdf", args=[batch.pk]), follow=True)
    assert "a été modifié depuis sa fabrication" in refused.content.decode()


def test_a_second_host_reuses_the_variants_the_first_laid_out(bucket, breach, laboratory, monkeypatch):
    # given a letter whose variant one host laid out into the bucket
    import datetime as dt

    from letters import variants
    from letters.content import letter_data_for
    from tests.factories import PatientFactory

    patient = PatientFactory(breach=breach, laboratory=laboratory)
    letter = letter_data_for(patient=patient, reference="REF-1", status_code="CODE-1", verification_phrase="phrase",
                             language="fr", sent_on=dt.date(2026, 11, 22))  # fmt: skip
    variants.prepare_variants([letter])
    stored = [key for key in _keys(bucket) if key.startswith("letters/variants/")]
    # when another host (empty memory) needs the same variant
    variants._cached_variant.cache_clear()
    laid_out = []
    real = variants.layout_variant
    monkeypatch.setattr(variants, "layout_variant", lambda key, **kw: laid_out.append(key) or real(key, **kw))
    variants.prepare_variants([letter])
    variants.variant_for(letter)
    # then it read the layout from the bucket and laid out nothing
    assert len(stored) == 1 and laid_out == []


def test_the_rejects_file_goes_to_the_bucket_and_is_purged_there(bucket, settings, tmp_path):
    # given a leaked file with one refused record, imported on the server shape
    from labs.models import Laboratory
    from tests.factories import BreachFactory

    breach = BreachFactory()
    Laboratory.objects.create(code="LAB01", name="Laboratoire 1")
    leak = write_leak(tmp_path / "leak.csv", [row(), row(NUM_DOSSIER="D2", CODE_LABO="")])
    result = leak_import(path=leak, breach=breach)
    # then the rejects file is a key of the bucket, with the refused record's reason, and no local copy
    assert result.rejects_file.startswith("rejects/") and private_exists(result.rejects_file)
    text = bucket.get_object(Bucket=bucket.name, Key=result.rejects_file)["Body"].read().decode()
    assert "D2" in text and "D0001" not in text
    assert not list(Path(settings.IMPORT_REJECTS_DIR).glob("*"))
    # when the retention is over, the purge deletes it from the bucket and the batch forgets it
    settings.IMPORT_REJECTS_RETENTION_DAYS = 30
    assert import_rejects_purge(now=timezone.now() + timezone.timedelta(days=31)) == 1
    result.batch.refresh_from_db()
    assert result.batch.rejects_file == "" and not private_exists(result.rejects_file)
    assert _keys(bucket) == []


def test_a_cnil_receipt_is_kept_in_the_bucket_and_downloaded_from_the_admin(bucket, dpo_lab_a, lab_a):
    # given a filing recorded with the CNIL's receipt on the server shape
    from tests.labs.test_phased_filings import PDF, _pdf

    filing = cnil_filing_record(
        case_file=complete_case_file(lab_a), submitted_at=timezone.now(), by=dpo_lab_a, receipt=_pdf()
    )
    # then the receipt is in the bucket under its random name
    assert _keys(bucket) == [f"cnil-receipts/{filing.receipt_name}"]
    assert private_storage().size(f"cnil-receipts/{filing.receipt_name}") == len(PDF)
    # and the DPO downloads the same bytes through the admin
    download = login_verified(Client(), dpo_lab_a).get(reverse("admin:labs_cnilfiling_receipt", args=[filing.pk]))
    assert download.status_code == 200 and download.content == PDF
