"""Evidence packs: ask for one (a row + a Celery task after commit), build it (the task or the command), open it.

The zip is written 0600 under settings.EVIDENCE_DIR, first under a temporary name then renamed, so a ready pack
always points at a whole file; its sha256 is kept on the row and checked again at each download.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from labs.audit import AuditEvent, audit_record
from labs.deadlines import format_paris
from labs.models import BreachLaboratory

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


def evidence_dir() -> Path:
    return Path(settings.EVIDENCE_DIR)


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


def _private_file(path: Path) -> IO[bytes]:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.fchmod(fd, 0o600)  # whatever the umask
    return os.fdopen(fd, "wb")


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
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
    name = f"{pack.pk:06d}-{uuid.uuid4().hex}.zip"
    partial = evidence_dir() / f"{name}.partial"
    current = "ouverture du fichier"
    try:
        source = PackSource(case_file=pack.case_file, liaison=pack.kind == EvidencePack.Kind.LIAISON)
        with _private_file(partial) as handle:
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
        os.replace(partial, evidence_dir() / name)
    except Exception:
        logger.exception("evidence pack %s failed at step %r", pack_id, current)
        with contextlib.suppress(OSError):  # the folder itself may be what failed
            partial.unlink(missing_ok=True)
        EvidencePack.objects.filter(pk=pack_id).update(
            status=EvidencePack.Status.FAILED,
            finished_at=timezone.now(),
            error=FAILED.format(what=f"étape « {current} »"),
        )
        return False
    path = evidence_dir() / name
    EvidencePack.objects.filter(pk=pack_id).update(
        status=EvidencePack.Status.READY, file_name=name, sha256=_sha256_of(path), size=path.stat().st_size,
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
    minutes: their worker died), and remove their unfinished file; re-running changes nothing more."""
    cutoff = (now or timezone.now()) - dt.timedelta(seconds=settings.EVIDENCE_STUCK_SECONDS)
    stuck = EvidencePack.objects.filter(
        Q(status=EvidencePack.Status.BUILDING, started_at__lt=cutoff)
        | Q(status=EvidencePack.Status.PENDING, created_at__lt=cutoff)
    )
    ids = list(stuck.values_list("pk", flat=True))
    for pack_id in ids:
        for partial in evidence_dir().glob(f"{pack_id:06d}-*.zip.partial"):
            partial.unlink(missing_ok=True)
    return stuck.filter(pk__in=ids).update(
        status=EvidencePack.Status.FAILED, finished_at=timezone.now(), error=INTERRUPTED
    )


def evidence_pack_download_name(pack: EvidencePack) -> str:
    """« dossier-preuves-LAB01-fuite-2021-dpo-20210301.zip »: what the DPO's downloads folder shows."""
    cf = pack.case_file
    day = timezone.localtime(pack.finished_at or pack.created_at)
    return f"dossier-preuves-{cf.laboratory.code}-{cf.breach.slug}-{pack.kind}-{day:%Y%m%d}.zip"


def evidence_pack_path(pack: EvidencePack) -> Path | None:
    """The pack's zip under EVIDENCE_DIR, if it is there (a name leading elsewhere is ignored)."""
    if pack.status != EvidencePack.Status.READY or not pack.file_name:
        return None
    root = evidence_dir().resolve()
    path = (root / Path(pack.file_name).name).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


def evidence_pack_open(*, pack: EvidencePack) -> IO[bytes]:
    """The pack's zip, opened for streaming once its sha256 is checked; EvidencePackFileError otherwise."""
    if pack.status != EvidencePack.Status.READY:
        raise EvidencePackFileError("Ce dossier n'est pas encore prêt : la page se met à jour toute seule.")
    path = evidence_pack_path(pack)
    if path is None:
        raise EvidencePackFileError(
            "Le fichier de ce dossier est introuvable sur le serveur : demandez un nouveau dossier."
        )
    if _sha256_of(path) != pack.sha256:
        raise EvidencePackFileError(
            "Le fichier de ce dossier a changé depuis sa préparation (empreinte différente) : ne l'envoyez pas, "
            "demandez un nouveau dossier et prévenez l'exploitation."
        )
    return path.open("rb")
