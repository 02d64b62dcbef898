"""Writes on patients: importing a leaked file into a breach.

`leak_import` is the one entry point (management command, admin, tasks). One transaction per file:
either the whole file is in (batch SUCCEEDED, every record accounted for) or nothing is, and a FAILED
batch row says why; running it again then does the work. The same file (sha256) for the same breach
is imported once: a second run changes nothing and says so.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import gc
import io
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.db.models.sql import InsertQuery
from django.utils import timezone

from labs.audit import audit_record
from labs.exports import formula_safe
from labs.models import Breach, Laboratory
from labs.storage import private_delete, private_exists, private_files_older_than, private_save

from .importer import (
    ISSUE_CODES,
    REJECTS_HEADER,
    UNKNOWN_LAB_CODE,
    AcceptedRecord,
    ImportInputError,
    PatientDraft,
    RecordSorter,
    Rejection,
    Source,
    inspect_source,
    iter_records,
)
from .mapping import ColumnPlan, MappingError, builtin_plan, load_mapping, mapping_plan
from .models import ExposedRecord, ImportBatch, ImportRejection, Patient
from .normalize import person_key

logger = logging.getLogger(__name__)

FLUSH_EVERY = 20_000  # rejections buffered before a bulk_create: bounds memory, amortises round trips
# Accepted records per generation: each generation's new patients are written one generation later (when
# their rows are in, the generator's within 20,000 rows), then that generation's records.
GENERATION_RECORDS = 25_000
ID_BLOCK = 50_000  # patient ids per sequence round trip, fetched ahead by the writer thread
PROGRESS_EVERY = 10_000

# (records read, bytes read, file size); called from the reading thread while the writer thread holds the
# import's connection: a progress callback must not use the database.
Progress = Callable[[int, int, int], None]

__all__ = ["ColumnPlan", "ImportInputError", "ImportResult", "MappingError", "import_rejects_purge", "leak_import"]


@dataclass
class ImportResult:
    batch: ImportBatch
    already_imported: bool
    seconds: float
    rejects_file: str = ""
    source: Source | None = field(default=None, repr=False)


def leak_import(
    *,
    path: str | Path,
    breach: Breach,
    mapping_path: str | Path | None = None,
    rejects_path: str | Path | None = None,
    progress: Progress | None = None,
    actor: object | None = None,
    allow_new_laboratories: bool = False,
) -> ImportResult:
    """Import one leaked file into `breach`; idempotent by (breach, sha256), all-or-nothing per file.

    A laboratory code that names no laboratory rejects its record (a corrupted code must not become a
    phantom laboratory) unless `allow_new_laboratories`: the operator then says this file creates them.
    The import is written to the audit trail in the same transaction (actor None: the command line).

    Raises ImportInputError (nothing written) when the file or mapping cannot be used at all.
    """
    started = time.monotonic()
    path = Path(path)
    mapping = load_mapping(mapping_path) if mapping_path else None  # MappingError is a ValueError
    source = inspect_source(path)
    done = ImportBatch.objects.filter(breach=breach, sha256=source.sha256).first()
    if done is not None and done.status == ImportBatch.Status.SUCCEEDED:
        return ImportResult(done, True, time.monotonic() - started, done.rejects_file, source)

    # Where --rejects says (a local file the operator asked for), else the private storage, shared by every host:
    # written locally while the import runs, saved there once it succeeded.
    rejects = str(Path(rejects_path).resolve()) if rejects_path else _default_rejects_key(breach, source)
    partial = (
        Path(rejects_path).with_name(Path(rejects_path).name + ".part")
        if rejects_path
        else Path(settings.IMPORT_REJECTS_DIR) / f"{Path(rejects).name}.part"
    )
    try:
        with transaction.atomic():
            # One import at a time per breach: each one matches rows against the patients already
            # there, so a concurrent one would create the same patients twice (PostgreSQL row lock).
            Breach.objects.select_for_update().filter(pk=breach.pk).first()
            if done is not None:  # a failed earlier attempt: its row is replaced by this run
                ImportBatch.objects.filter(pk=done.pk).delete()
            batch = ImportBatch.objects.create(
                breach=breach,
                file_name=path.name[:255],
                sha256=source.sha256,
                encoding=source.encoding,
                delimiter=source.delimiter,
                status=ImportBatch.Status.RUNNING,
                started_at=timezone.now(),
                rejects_file=rejects,
            )
            _import_file(batch=batch, source=source, mapping=mapping, partial=partial, progress=progress,
                         allow_new_laboratories=allow_new_laboratories)  # fmt: skip
            batch.refresh_from_db()
            audit_record(
                actor=actor, action="import", obj=batch, breach=breach.slug, sha256=source.sha256,
                rows_read=batch.rows_read, rows_accepted=batch.rows_accepted, rows_rejected=batch.rows_rejected,
                allow_new_laboratories=allow_new_laboratories,
            )  # fmt: skip
        _rejects_publish(partial, rejects, local=bool(rejects_path))
    except IntegrityError:
        _unlink(partial)
        # Another run imported the same file meanwhile (unique breach + sha256): that one stands.
        done = ImportBatch.objects.filter(breach=breach, sha256=source.sha256, status="succeeded").first()
        if done is None:
            raise
        return ImportResult(done, True, time.monotonic() - started, done.rejects_file, source)
    except (ImportInputError, MappingError):
        _unlink(partial)
        raise
    except BaseException as exc:
        _unlink(partial)
        _record_failure(breach=breach, path=path, source=source, error=exc)
        raise
    return ImportResult(batch, False, time.monotonic() - started, rejects, source)


def import_rejects_purge(*, now: dt.datetime | None = None) -> int:
    """Delete rejects files older than IMPORT_REJECTS_RETENTION_DAYS; returns how many. Re-runnable.

    A rejects file says where and why records were refused, with a masked NIR: still personal data, kept
    only while an operator may need it. Each batch's file goes (from the private storage, or wherever --rejects
    put it) and the batch stops pointing at it; files no batch points at (the storage's "rejects/", a crashed
    run's ".part" in IMPORT_REJECTS_DIR) go by age.
    The database's rejection rows (positions and reasons, no content) stay for the accounting."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.IMPORT_REJECTS_RETENTION_DAYS)
    purged = 0
    old_batches = ImportBatch.objects.exclude(rejects_file="").filter(created_at__lt=cutoff)
    for batch in old_batches.only("pk", "rejects_file"):
        path = Path(batch.rejects_file)
        if path.is_absolute():  # a local file chosen with --rejects
            if path.is_file():
                _unlink(path)
                purged += 1
        elif private_exists(batch.rejects_file):
            private_delete(batch.rejects_file)
            purged += 1
        ImportBatch.objects.filter(pk=batch.pk).update(rejects_file="")
    for key in private_files_older_than(REJECTS_PREFIX, cutoff):
        private_delete(key)
        purged += 1
    directory = Path(settings.IMPORT_REJECTS_DIR)
    if directory.is_dir():
        for path in directory.iterdir():
            with contextlib.suppress(OSError):  # gone meanwhile: another purge got there first
                if path.is_file() and path.stat().st_mtime < cutoff.timestamp():
                    path.unlink()
                    purged += 1
    if purged:
        logger.info("purged %d import rejects files older than %s", purged, cutoff.date())
    return purged


REJECTS_PREFIX = "rejects"  # the rejects files' folder in the private storage


def _default_rejects_key(breach: Breach, source: Source) -> str:
    return f"{REJECTS_PREFIX}/{breach.slug}-{source.sha256[:12]}-rejects.csv"


def _rejects_publish(partial: Path, rejects: str, *, local: bool) -> None:
    """Put the finished rejects file where the batch says: renamed in place, or saved to the private storage."""
    if local:
        os.replace(partial, rejects)
        return
    with partial.open("rb") as handle:
        private_save(rejects, handle)
    _unlink(partial)


def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):  # absent, or its directory never could be created
        path.unlink()


def _record_failure(*, breach: Breach, path: Path, source: Source, error: BaseException) -> None:
    """Leave a FAILED batch row (no data: the import's transaction was rolled back); a re-run replaces it."""
    try:
        ImportBatch.objects.update_or_create(
            breach=breach,
            sha256=source.sha256,
            defaults={
                "file_name": path.name[:255],
                "encoding": source.encoding,
                "delimiter": source.delimiter,
                "status": ImportBatch.Status.FAILED,
                "finished_at": timezone.now(),
                # First line only: database errors go on to quote the offending row (patient data).
                "error": f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:500],
            },
        )
    except Exception:  # the original error matters more than the trail of it
        logger.exception("could not record the failed import of %s", path.name)


def _open_private(path: Path):
    """The rejects file holds leaked data: created 0600, whatever the umask."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise ImportInputError(
            f"fichier des rejets impossible à écrire / cannot write the rejects file {path.with_suffix('')}: "
            f"{exc.strerror}"
        ) from None
    os.fchmod(fd, 0o600)
    return open(fd, "w", encoding="utf-8", errors="backslashreplace", newline="")  # noqa: SIM115


def _import_file(
    *,
    batch: ImportBatch,
    source: Source,
    mapping: dict | None,
    partial: Path,
    progress: Progress | None,
    allow_new_laboratories: bool,
) -> None:
    writer = _writer_for(batch, allow_new_laboratories=allow_new_laboratories)
    # The patient drafts are hundreds of thousands of long-lived objects: the cyclic garbage collector
    # would walk them again and again (it nearly doubled the import time). Reading creates no cycles
    # (rows, records and drafts are freed by reference counting), so it is paused meanwhile.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        _read_and_write(writer=writer, batch=batch, source=source, mapping=mapping, partial=partial, progress=progress)
    except BaseException as exc:
        writer.close(exc)  # leave the connection usable for the rollback
        raise
    finally:
        if gc_was_enabled:
            gc.enable()


def _read_and_write(
    *,
    writer: _Writer,
    batch: ImportBatch,
    source: Source,
    mapping: dict | None,
    partial: Path,
    progress: Progress | None,
) -> None:
    breach_id = batch.breach_id
    existing = {
        (lab_id, key): pk
        for lab_id, key, pk in Patient.objects.filter(breach_id=breach_id).values_list(
            "laboratory_id", "person_key", "id"
        )
    }
    with source.path.open("rb") as raw, _open_private(partial) as rejects_fh:
        text = io.TextIOWrapper(raw, encoding=source.encoding, errors="surrogateescape", newline="")
        records = iter_records(text, source.delimiter)
        header = next(records, None)
        if header is None:
            raise ImportInputError(f"aucune ligne d'en-tête / no header line in {source.path}")
        header = [name.lstrip("\ufeff").strip() for name in header]
        plan = mapping_plan(header, mapping) if mapping is not None else builtin_plan(header)
        batch.mapping = plan.names
        # Where and why only (importer.REJECTS_HEADER), never the leaked row; formula-safe like every export.
        rejects_csv = csv.writer(rejects_fh, delimiter=";")
        rejects_csv.writerow(REJECTS_HEADER)
        sorter = RecordSorter(
            plan=plan,
            secret=settings.PERSON_KEY_SECRET,
            today=timezone.localdate(),
            check_decoding=not source.clean,
            lab_id_for=writer.lab_id_for,
            existing_patient_id=(lambda lab_id, key: existing.get((lab_id, key))) if existing else None,
            new_patient_id=writer.new_patient_id,
        )
        rejected: list[Rejection] = []
        n_read = n_accepted = n_rejected = n_unknown_lab = 0
        write_record = writer.write_record
        for record in records:
            outcome = sorter.accept_or_reject(record)
            n_read += 1
            if type(outcome) is AcceptedRecord:
                n_accepted += 1
                write_record(outcome)
                if n_accepted % GENERATION_RECORDS == 0:
                    writer.write_generation(sorter.next_generation())
            else:
                n_rejected += 1
                n_unknown_lab += outcome.reason == UNKNOWN_LAB_CODE
                rejected.append(outcome)
                rejects_csv.writerow([formula_safe(cell) for cell in sorter.rejects_row(outcome)])
                if len(rejected) >= FLUSH_EVERY:
                    writer.write_rejections(rejected)
                    rejected = []
            if progress is not None and n_read % PROGRESS_EVERY == 0:
                progress(n_read, raw.tell(), source.size)
        if n_read == 0:
            raise ImportInputError(f"en-tête seul, aucun enregistrement / header only, no records: {source.path}")
        if n_accepted == 0 and n_unknown_lab:
            # Surely a first import without --allow-new-laboratories: recorded as done, the same file could
            # never be imported again with it. Refused instead, nothing written.
            unknown = sorted(code for code, lab_id in sorter.lab_ids.items() if lab_id is None)
            shown = ", ".join(unknown[:5]) + (" …" if len(unknown) > 5 else "")
            raise ImportInputError(
                f"aucun code de laboratoire du fichier n'est connu ({shown}) : rien n'est importé ; créez les "
                f"laboratoires ou relancez avec --allow-new-laboratories / no known laboratory code, nothing imported"
            )
        # The last two generations: the sealed one, then the current one (each with its records).
        writer.write_generation(sorter.next_generation())
        writer.write_generation(sorter.next_generation())
        writer.finish()
        writer.write_rejections(rejected)
        if progress is not None:
            progress(n_read, source.size, source.size)

    _merge_existing(sorter.updated_drafts())
    batch.rows_read, batch.rows_accepted, batch.rows_rejected = n_read, n_accepted, n_rejected
    batch.patients_created = writer.patients_written
    batch.status = ImportBatch.Status.SUCCEEDED
    batch.finished_at = timezone.now()
    batch.save()


def _merge_existing(drafts: list[PatientDraft]) -> None:
    """A second file of the same breach adds to patients already known: unions, counts, blanks filled."""
    if not drafts:
        return
    by_id = {d.id: d for d in drafts}
    patients = list(Patient.objects.filter(pk__in=by_id))
    fill = ("civility", "first_name", "last_name", "birth_name", "address_line", "postcode", "city", "email")
    for patient in patients:
        draft = by_id[patient.pk]
        for name in fill:
            if not getattr(patient, name) and getattr(draft, name):
                setattr(patient, name, getattr(draft, name))
        patient.landline_phone = patient.landline_phone or draft.landline
        patient.mobile_phone = patient.mobile_phone or draft.mobile
        patient.birth_date = patient.birth_date or draft.birth_date
        patient.nir_masked = patient.nir_masked or draft.nir_masked
        if patient.nir_valid is None:
            patient.nir_valid = draft.nir_valid
        patient.is_minor = patient.is_minor or draft.minor
        patient.exposure_mask |= draft.exposure
        patient.sensitive_mask |= draft.sensitive
        patient.data_issues = sorted(set(patient.data_issues) | set(draft.data_issues))
        patient.record_count += draft.records
        patient.updated_at = timezone.now()
    Patient.objects.bulk_update(
        patients,
        [
            "civility", "first_name", "last_name", "birth_name", "address_line", "postcode", "city", "email",
            "landline_phone", "mobile_phone", "birth_date", "nir_masked", "nir_valid", "is_minor",
            "exposure_mask", "sensitive_mask", "data_issues", "record_count", "updated_at",
        ],
        batch_size=2000,
    )  # fmt: skip


def _patient_values(draft: PatientDraft, breach_id: int, now) -> tuple:
    return (
        draft.id, now, now, breach_id, draft.lab_id, draft.person_key(settings.PERSON_KEY_SECRET), draft.civility, draft.first_name,
        draft.last_name, draft.birth_name, draft.birth_date, draft.minor, draft.address_line, draft.postcode,
        draft.city, "FR", draft.email, draft.landline, draft.mobile, draft.nir_masked, draft.nir_valid,
        int(draft.exposure), draft.sensitive, draft.data_issues, draft.records,
    )  # fmt: skip


_PATIENT_COLUMNS = (
    "id", "created_at", "updated_at", "breach_id", "laboratory_id", "person_key", "civility", "first_name",
    "last_name", "birth_name", "birth_date", "is_minor", "address_line", "postcode", "city", "country", "email",
    "landline_phone", "mobile_phone", "nir_masked", "nir_valid", "exposure_mask", "sensitive_mask",
    "data_issues", "record_count",
)  # fmt: skip


class _Writer:
    """Bulk writes through the ORM (SQLite, any backend); patient ids are assigned before insertion
    so that exposed records can be written while the file is still being read.

    Records arrive one by one (`write_record`); at each generation (`write_generation`) the patients
    the reader hands out are written, then the records of the generation before, which can only
    name patients written by then."""

    def __init__(self, batch: ImportBatch, *, allow_new_laboratories: bool) -> None:
        self.batch = batch
        self.allow_new_laboratories = allow_new_laboratories
        self.patients_written = 0
        self._next_id: int | None = None  # from the table's highest id, at the first new patient
        self._records: list = []
        self._sealed_records: list = []

    def new_patient_id(self) -> int:
        if self._next_id is None:
            self._next_id = (Patient.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        value = self._next_id
        self._next_id += 1
        return value

    def lab_id_for(self, code: str) -> int | None:
        """The laboratory of a code, None when there is none; created (details filled in later) only when
        the operator allowed this file to create laboratories."""
        if self.allow_new_laboratories:
            lab, _ = Laboratory.objects.get_or_create(code=code, defaults={"name": code})
            return lab.pk
        return Laboratory.objects.filter(code=code).values_list("pk", flat=True).first()

    def write_record(self, record: AcceptedRecord) -> None:
        self._records.append(record)

    def write_generation(self, drafts: list[PatientDraft]) -> None:
        records, self._sealed_records, self._records = self._sealed_records, self._records, []
        self.patients_written += len(drafts)
        self._write(drafts, records)

    def _write(self, drafts: list[PatientDraft], records: list) -> None:
        self.write_new_patients(drafts)
        self.write_records(records)

    def write_records(self, records: list[AcceptedRecord]) -> None:
        batch_id = self.batch.pk
        ExposedRecord.objects.bulk_create(
            [
                ExposedRecord(
                    patient_id=r.patient_id,
                    batch_id=batch_id,
                    record_number=r.number,
                    record_id=r.record_id,
                    specimen_date=r.specimen_date,
                    exposure_mask=r.exposure,
                    sensitive_mask=r.sensitive,
                )
                for r in records
            ],
            batch_size=5000,
        )

    def write_rejections(self, rejections: list[Rejection]) -> None:
        ImportRejection.objects.bulk_create(
            [
                ImportRejection(
                    batch=self.batch, record_number=r.number, line_number=r.line, reason=r.reason, message=r.message
                )
                for r in rejections
            ],
            batch_size=5000,
        )

    def finish(self) -> None:
        """Every generation handed over is written (the ORM writer writes them as they come)."""

    def close(self, error: BaseException | None) -> None:
        """Called when reading has failed."""

    def write_new_patients(self, drafts: list[PatientDraft]) -> None:
        now = timezone.now()
        breach_id = self.batch.breach_id
        for start in range(0, len(drafts), 2000):
            Patient.objects.bulk_create(
                [
                    Patient(**dict(zip(_PATIENT_COLUMNS, _patient_values(d, breach_id, now), strict=True)))
                    for d in drafts[start : start + 2000]
                ]
            )


class _PostgresWriter(_Writer):
    """PostgreSQL: ids drawn from the table's sequence in blocks (safe alongside other writers), rows
    streamed with COPY in PostgreSQL's text format by a thread of its own on the import's connection,
    so that the server stores a generation (patients, records, their key checks) on the second core
    while this process reads the next one. The thread is the connection's only user until `finish`:
    the main thread asks it for ids and waits for it (`_drain`) before any query of its own."""

    def __init__(self, batch: ImportBatch, *, allow_new_laboratories: bool) -> None:
        super().__init__(batch, allow_new_laboratories=allow_new_laboratories)  # records: COPY lines here
        self._ids: list[int] = []
        self._fetched: list[list[int]] = []  # id blocks fetched by the thread, not yet taken
        self._fetching = False
        self._now = timezone.now().isoformat()
        with connection.cursor() as cursor:
            # Check the keys while copying, on the server's core, rather than all of them at commit.
            for model, targets in ((ExposedRecord, (ImportBatch, Patient)), (Patient, (Breach, Laboratory))):
                table = model._meta.db_table
                for name, info in connection.introspection.get_constraints(cursor, table).items():
                    if info["foreign_key"] and info["foreign_key"][0] in {t._meta.db_table for t in targets}:
                        cursor.execute(f'SET CONSTRAINTS "{name}" IMMEDIATE')
        # Laboratory codes are resolved without waiting for the thread: the known ones read now, a new
        # one (when allowed) given an id reserved from the sequence and inserted by the thread, before
        # any patient that names it.
        self._labs = dict(Laboratory.objects.values_list("code", "pk"))
        self._lab_ids: list[int] = []
        self._raw = connection.connection  # the psycopg connection in the import's transaction
        self._jobs: queue.Queue = queue.Queue(maxsize=1)  # one generation queued, one being written
        self._error: BaseException | None = None
        self._stopping = False
        self._thread = threading.Thread(target=self._work, name="leak-import-writer", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                if self._error is None and not self._stopping:
                    job()
            except BaseException as exc:  # handed to the main thread, which raises it
                self._error = exc
            finally:
                self._jobs.task_done()

    def _submit(self, job) -> None:
        self._raise_error()
        self._jobs.put(job)

    def _drain(self) -> None:
        """Wait until the thread has written everything handed to it; raise what it failed on."""
        self._jobs.join()
        self._raise_error()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def new_patient_id(self) -> int:
        if not self._ids:
            if not self._fetched:
                self._drain()  # the first block (or a thread far behind): nothing else is using the connection
                if not self._fetched:
                    self._fetch_ids()
            self._ids = self._fetched.pop(0)
            self._fetching = False
        if not self._fetching and not self._fetched:  # the next block, fetched while this one is used
            self._fetching = True
            self._submit(self._fetch_ids)
        return self._ids.pop()

    def _fetch_ids(self) -> None:
        with self._raw.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [Patient._meta.db_table, ID_BLOCK],
            )
            self._fetched.append([row[0] for row in cursor.fetchall()][::-1])

    def lab_id_for(self, code: str) -> int | None:
        lab_id = self._labs.get(code)
        if lab_id is not None or not self.allow_new_laboratories:
            return lab_id
        if not self._lab_ids:
            self._drain()
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, 32)",
                    [Laboratory._meta.db_table],
                )
                self._lab_ids = [row[0] for row in cursor.fetchall()][::-1]
        laboratory = Laboratory(pk=self._lab_ids.pop(), code=code, name=code)
        query = InsertQuery(Laboratory)
        query.insert_values(Laboratory._meta.local_concrete_fields, [laboratory])
        ((sql, params),) = query.get_compiler(connection=connection).as_sql()
        self._submit(lambda: self._execute(sql, params))
        self._labs[code] = laboratory.pk
        return laboratory.pk

    def _execute(self, sql: str, params) -> None:
        with self._raw.cursor() as cursor:
            cursor.execute(sql, params)

    def write_record(self, r: AcceptedRecord) -> None:
        self._records.append(
            f"{r.patient_id}\t{self.batch.pk}\t{r.number}\t{_esc(r.record_id)}\t"
            f"{r.specimen_date.isoformat() if r.specimen_date else NULL}\t{r.exposure}\t{r.sensitive}\n"
        )

    def _write(self, drafts: list[PatientDraft], records: list) -> None:
        # The lines are made here, in the reading thread: the writer thread only waits on the server.
        breach_id, now = self.batch.breach_id, self._now
        patients = "".join([_patient_line(d, breach_id, now) for d in drafts])
        records = "".join(records)
        self._submit(lambda: (self._copy(Patient, _PATIENT_COLUMNS, patients),
                              self._copy(ExposedRecord, _RECORD_COLUMNS, records)))  # fmt: skip

    def _copy(self, model, columns: tuple[str, ...], text: str) -> None:
        if text:
            with (
                self._raw.cursor() as cursor,
                cursor.copy(f'COPY "{model._meta.db_table}" ({", ".join(columns)}) FROM STDIN') as copy,
            ):
                copy.write(text)

    def write_rejections(self, rejections: list[Rejection]) -> None:
        self._drain()
        super().write_rejections(rejections)

    def finish(self) -> None:
        self._drain()
        self._stop()

    def close(self, error: BaseException | None) -> None:
        self._stop()  # waits for the generation being written: the connection is then free for the rollback

    def _stop(self) -> None:
        """End the thread; a job still queued (only when reading failed) is dropped, not written."""
        if self._thread.is_alive():
            self._stopping = True
            self._jobs.put(None)
            self._thread.join()


NULL = "\\N"
_BOOL = {True: "t", False: "f", None: NULL}
_RECORD_COLUMNS = (
    "patient_id", "batch_id", "record_number", "record_id", "specimen_date", "exposure_mask", "sensitive_mask",
)  # fmt: skip


def _esc(value: str) -> str:
    """COPY text escaping; the importer's strings are already free of tabs and line breaks."""
    return value.replace("\\", "\\\\") if "\\" in value else value


def _issues_json(issues: int) -> str:
    return json.dumps([code for bit, code in ISSUE_CODES.items() if issues & bit])


_ISSUES_JSON = {issues: _issues_json(issues) for issues in range(1 << len(ISSUE_CODES))}


def _patient_line(d: PatientDraft, breach_id: int, now: str) -> str:
    return "\t".join(
        (
            str(d.id), now, now, str(breach_id), str(d.lab_id), person_key(d.material, settings.PERSON_KEY_SECRET),
            _esc(d.civility), _esc(d.first_name),
            _esc(d.last_name), _esc(d.birth_name), d.birth_date.isoformat() if d.birth_date else NULL,
            _BOOL[d.minor], _esc(d.address_line), _esc(d.postcode), _esc(d.city), "FR", _esc(d.email), d.landline,
            d.mobile, d.nir_masked, _BOOL[d.nir_valid], str(d.exposure), str(d.sensitive),
            _ISSUES_JSON[d.issues], str(d.records),
        )
    ) + "\n"  # fmt: skip


def _writer_for(batch: ImportBatch, *, allow_new_laboratories: bool) -> _Writer:
    """The COPY writer on PostgreSQL; the ORM's bulk_create elsewhere (SQLite: demo and unit tests)."""
    writer_class = _PostgresWriter if connection.vendor == "postgresql" else _Writer
    return writer_class(batch, allow_new_laboratories=allow_new_laboratories)
