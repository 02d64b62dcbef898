"""Evidence packs: ask for one (a row + a Celery task after commit), build it (the task or the command), open it.

The zip is built in a private temporary file (0600), then saved in the private storage under "evidence/…"
(`labs.storage`: NOTIFIER_VAR_DIR or the S3 bucket, so the web host serves what a worker built); the row turns
ready only once the whole file is stored; its sha256 is kept on the row and checked again at each download.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import tempfile
import uuid
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from labs.audit import AuditEvent, audit_record
from labs.deadlines import format_paris
from labs.models import BreachLaboratory
from labs.storage import private_delete, private_exists, private_open, private_save, private_sha256

from .archive import EvidenceZip
from .contents import SECTIONS, PackSource
from .models import EvidencePack
from .readme import readme_text

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

BUILD_TASK = "evidence.tasks.evidence_pack_build_task"
STEPS_TOTAL = len(SECTIONS) + 1  # the sections, then README + manifest
FAILED = "La préparation du dossier a échoué ({what}). Demandez-en un nouveau ; si cela se reproduit, prévenez l'exploitation."


class EvidencePackFileError(Exception):
    """A pack that cannot be handed out; the message is French and says what to do."""


EVIDENCE_PREFIX = "evidence"


def evidence_pack_request(
    *, case_file: BreachLaboratory, kind: str, by: AbstractBaseUser | None, enqueue: bool = True
) -> EvidencePack:
    """A new pending pack of `case_file` in version `kind`, its build enqueued after commit (each call: a new pack)."""
    if kind not in EvidencePack.Kind.values:
        raise ValueError(f"Version de dossier inconnue : {kind!r} (dpo ou liaison)")
    with transaction.atomic():
        pack = EvidencePack.objects.create(case_file=case_file, kind=kind, requested_by=by, steps_total=STEPS_TOTAL)
        audit_record(actor=by, action=AuditEvent.Action.ADD, obj=pack, laboratory=case_file.laboratory,
                     evidence_pack=kind)  # fmt: skip
        if enqueue:
            pack_id = pack.pk
            transaction.on_commit(lambda: current_app.tasks[BUILD_TASK].delay(pack_id))
    return pack


def _sha256_of(handle: IO[bytes]) -> str:
    digest = hashlib.sha256()
    handle.seek(0)
    for chunk in iter(lambda: handle.read(1 << 20), b""):
        digest.update(chunk)
    return digest.hexdigest()


def _step(pack_id: int, done: int) -> None:
    EvidencePack.objects.filter(pk=pack_id).update(steps_done=done)


def evidence_pack_build(*, pack_id: int, progress: Callable[[int, int, str], None] | None = None) -> bool:
    """Build a pending pack; a pack already claimed (building, ready or failed) is left as it is, so a second
    run writes nothing. A failure is recorded on the row in French (the traceback goes to the log only)."""
    now = timezone.now()
    claimed = EvidencePack.objects.filter(pk=pack_id, status=EvidencePack.Status.PENDING).update(
        status=EvidencePack.Status.BUILDING, started_at=now, steps_done=0, steps_total=STEPS_TOTAL
    )
    if claimed != 1:
        return False
    pack = EvidencePack.objects.select_related("case_file__breach", "case_file__laboratory", "requested_by").get(
        pk=pack_id
    )
    key = f"{EVIDENCE_PREFIX}/{pack.pk:06d}-{uuid.uuid4().hex}.zip"
    current = "ouverture du fichier"
    try:
        source = PackSource(case_file=pack.case_file, liaison=pack.kind == EvidencePack.Kind.LIAISON)
        with tempfile.TemporaryFile(prefix="notifier-evidence-") as handle:  # 0600, gone when closed
            archive = EvidenceZip(handle, written_at=timezone.localtime(now))
            for done, (label, section) in enumerate(SECTIONS, start=1):
                current = label
                if progress is not None:
                    progress(done, STEPS_TOTAL, label)
                section(source, archive)
                _step(pack.pk, done)
            current = "manifeste"
            if progress is not None:
                progress(STEPS_TOTAL, STEPS_TOTAL, current)
            entries = archive.close(readme=readme_text(pack=pack, source=source, entries=archive.entries),
                                    metadata=_metadata(pack, source, now))  # fmt: skip
            current = "enregistrement du fichier"
            sha256, size = _sha256_of(handle), handle.tell()
            handle.seek(0)
            private_save(key, handle)
    except Exception:
        logger.exception("evidence pack %s failed at step %r", pack_id, current)
        with contextlib.suppress(Exception):  # the storage itself may be what failed
            private_delete(key)
        EvidencePack.objects.filter(pk=pack_id).update(
            status=EvidencePack.Status.FAILED,
            finished_at=timezone.now(),
            error=FAILED.format(what=f"étape « {current} »"),
        )
        return False
    EvidencePack.objects.filter(pk=pack_id).update(
        status=EvidencePack.Status.READY, file_name=key, sha256=sha256, size=size,
        files=len(entries) + 1, steps_done=STEPS_TOTAL, finished_at=timezone.now(),
    )  # fmt: skip
    return True


def _metadata(pack: EvidencePack, source: PackSource, now: Any) -> dict[str, Any]:
    cf = pack.case_file
    return {
        "format": "notifier.evidence-pack/1",
        "version": pack.kind,
        "version_label": pack.get_kind_display(),
        "pack_id": pack.pk,
        "breach": {"slug": cf.breach.slug, "title": cf.breach.title},
        "laboratory": {"code": cf.laboratory.code, "name": cf.laboratory.name},
        "built_at": format_paris(now),
        "requested_by": pack.requested_by.get_username() if pack.requested_by else "commande evidence_pack",
        "missing": source.missing,
    }


INTERRUPTED = "La préparation du dossier a été interrompue (le serveur a redémarré). Demandez-en un nouveau."


def evidence_packs_interrupted_fail(*, now: dt.datetime | None = None) -> int:
    """Mark failed the packs pending or building for longer than EVIDENCE_STUCK_SECONDS (a build takes seconds to
    minutes: their worker died; their unfinished zip was a temporary file, gone with the process); re-running
    changes nothing more."""
    cutoff = (now or timezone.now()) - dt.timedelta(seconds=settings.EVIDENCE_STUCK_SECONDS)
    stuck = EvidencePack.objects.filter(
        Q(status=EvidencePack.Status.BUILDING, started_at__lt=cutoff)
        | Q(status=EvidencePack.Status.PENDING, created_at__lt=cutoff)
    )
    return stuck.update(status=EvidencePack.Status.FAILED, finished_at=timezone.now(), error=INTERRUPTED)


def evidence_pack_download_name(pack: EvidencePack) -> str:
    """« dossier-preuves-LAB01-fuite-2021-dpo-20210301.zip »: what the DPO's downloads folder shows."""
    cf = pack.case_file
    day = timezone.localtime(pack.finished_at or pack.created_at)
    return f"dossier-preuves-{cf.laboratory.code}-{cf.breach.slug}-{pack.kind}-{day:%Y%m%d}.zip"


def evidence_pack_key(pack: EvidencePack) -> str | None:
    """The pack's key in the private storage, if it is a ready pack's and the file is there."""
    if pack.status != EvidencePack.Status.READY or not pack.file_name.startswith(f"{EVIDENCE_PREFIX}/"):
        return None
    return pack.file_name if private_exists(pack.file_name) else None


def evidence_pack_open(*, pack: EvidencePack) -> IO[bytes]:
    """The pack's zip, opened for streaming once its sha256 is checked; EvidencePackFileError otherwise."""
    if pack.status != EvidencePack.Status.READY:
        raise EvidencePackFileError("Ce dossier n'est pas encore prêt : la page se met à jour toute seule.")
    key = evidence_pack_key(pack)
    if key is None:
        raise EvidencePackFileError(
            "Le fichier de ce dossier est introuvable sur le serveur : demandez un nouveau dossier."
        )
    if private_sha256(key) != pack.sha256:
        raise EvidencePackFileError(
            "Le fichier de ce dossier a changé depuis sa préparation (empreinte différente) : ne l'envoyez pas, "
            "demandez un nouveau dossier et prévenez l'exploitation."
        )
    return private_open(key)
