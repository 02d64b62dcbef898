"""Reading a leaked file: sniffing it, streaming its CSV records, and sorting records into accepted (merged into their patient) or rejected.

No database access here: `services.leak_import` owns the transaction and the writes, and hands this
module the callbacks it needs (laboratory ids, patient ids). One pass with `csv.reader` over a text
stream; per row only cheap string work, with the slower normalisers run once per patient (the first
row that brings a value), so the cost follows the number of patients rather than of rows.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple

from .categories import Exposure
from .classify import classify_comment
from .mapping import CANONICAL_FIELDS, ColumnPlan
from .models import minor_on
from .normalize import (
    clean_text,
    nir_compact,
    nir_mask,
    nir_valid,
    normalize_email,
    normalize_phone,
    parse_date,
    person_key,
    person_material,
)

CHUNK_SIZE = 1 << 20

# Reason codes of rejected records (stable: they are stored on ImportRejection rows).
FIELD_COUNT = "field_count"
UNDECODABLE = "undecodable"
UNPARSEABLE = "unparseable"
NO_LAB_CODE = "no_lab_code"
LAB_CODE_TOO_LONG = "lab_code_too_long"
UNKNOWN_LAB_CODE = "unknown_lab_code"
NO_IDENTITY = "no_identity"

# The rejects file: where and why, the failing column, and what identifies the row without exposing it
# (laboratory code, file number, masked NIR). Never the comment, the password or any other column.
REJECTS_HEADER = ["enregistrement", "ligne", "motif", "champ", "message", "code laboratoire", "dossier", "NIR masqué"]
_MESSAGE_MAX = 300

# Per-patient field problems (Patient.data_issues), as bits while importing.
ISSUE_CODES = {1: "nir_invalid", 2: "birth_date_invalid", 4: "email_invalid", 8: "phone_invalid"}
_NIR_INVALID, _BIRTH_DATE_INVALID, _EMAIL_INVALID, _PHONE_INVALID = 1, 2, 4, 8

# Model column widths: values are cut to fit rather than failing a whole COPY.
_MAX = {"civility": 20, "name": 100, "address_line": 300, "postcode": 10, "city": 100, "record_id": 64}
LAB_CODE_MAX = 64

# Plain ints: IntFlag arithmetic is several times slower, and this runs for every row.
_IDENTITY, _BIRTH_DATE, _NIR = int(Exposure.IDENTITY), int(Exposure.BIRTH_DATE), int(Exposure.NIR)
_POSTAL, _EMAIL, _PHONE = int(Exposure.POSTAL_ADDRESS), int(Exposure.EMAIL), int(Exposure.PHONE)
_BLOOD, _PRESCRIBER, _INSURER = int(Exposure.BLOOD_GROUP), int(Exposure.PRESCRIBER), int(Exposure.INSURER)
_COMMENT, _PASSWORD, _OTHER = int(Exposure.MEDICAL_COMMENT), int(Exposure.PORTAL_PASSWORD), int(Exposure.OTHER_ADMIN)

# Bytes that did not decode (surrogate escapes) and NUL, which no database text column takes.
_UNDECODABLE = re.compile("[\x00\udc80-\udcff]")
_UNSEEN = -1  # a laboratory code not looked up yet (None: looked up, unknown)


def _shown(value: str, limit: int) -> str:
    """A value fit for the rejects file or a message: one line, bad bytes and NUL replaced, cut to `limit`."""
    return _UNDECODABLE.sub("\ufffd", clean_text(value))[:limit]


def _intern(value: str) -> str:
    """Share the many repeated values (names, towns, masked NIRs) between patients held in memory."""
    return sys.intern(value)


class ImportInputError(Exception):
    """The file cannot be imported at all (missing, empty, binary, header only, bad mapping…)."""


@dataclass(frozen=True)
class Source:
    path: Path
    size: int
    sha256: str
    encoding: str  # "utf-8", "utf-8-sig" or "cp1252"
    delimiter: str
    clean: bool  # valid UTF-8 without NUL: no record can be undecodable


def inspect_source(path: Path) -> Source:
    """Hash the file and decide its encoding and delimiter in one read; refuse what is not a CSV text."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ImportInputError(f"fichier introuvable / file not found: {path}") from None
    except OSError as exc:
        raise ImportInputError(f"lecture impossible / cannot read {path}: {exc.strerror}") from None
    if not path.is_file():
        raise ImportInputError(f"pas un fichier ordinaire / not a regular file: {path}")
    if size == 0:
        raise ImportInputError(f"fichier vide / empty file: {path}")
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    utf8_ok, seen_non_ascii, has_nul, head = True, False, False, b""
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK_SIZE):
                digest.update(chunk)
                has_nul = has_nul or b"\x00" in chunk
                if not head:
                    head = chunk[:65536]
                if utf8_ok:
                    try:
                        seen_non_ascii |= not decoder.decode(chunk).isascii()
                    except UnicodeDecodeError as exc:
                        utf8_ok = False
                        seen_non_ascii |= not chunk[: max(exc.start - 4, 0)].decode("utf-8", "ignore").isascii()
            if utf8_ok:
                try:
                    decoder.decode(b"", final=True)
                except UnicodeDecodeError:
                    utf8_ok = False
    except OSError as exc:
        raise ImportInputError(f"lecture impossible / cannot read {path}: {exc.strerror}") from None
    if _looks_binary(head):
        raise ImportInputError(
            f"pas un fichier CSV texte (contenu binaire) / not a text CSV file (binary content): {path}"
        )
    bom = head.startswith(codecs.BOM_UTF8)
    # A cp1252 file fails UTF-8 at its first accent; a UTF-8 file with a few corrupt bytes has valid
    # accented text before them: keep UTF-8 then, and reject only the records holding bad bytes.
    encoding = ("utf-8-sig" if bom else "utf-8") if utf8_ok or seen_non_ascii or bom else "cp1252"
    lines = head.decode(encoding, "replace").lstrip("\ufeff").splitlines()
    first_line = next((line for line in lines if line.strip()), "")
    if not first_line:
        raise ImportInputError(f"aucune ligne d'en-tête au début du fichier / no header line at the start of {path}")
    return Source(
        path=path,
        size=size,
        sha256=digest.hexdigest(),
        encoding=encoding,
        delimiter=detect_delimiter(first_line),
        clean=utf8_ok and not has_nul,
    )


def _looks_binary(head: bytes) -> bool:
    if b"\x00" in head:
        return True
    controls = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 12, 13))
    return controls > max(2, len(head) // 100)


def detect_delimiter(header_line: str) -> str:
    """The most frequent of ; , and tab in the header line (";" on a tie: the leak's own)."""
    counts = {delimiter: header_line.count(delimiter) for delimiter in (";", ",", "\t")}
    best = max(counts, key=lambda d: (counts[d], d == ";"))
    return best if counts[best] else ";"


@dataclass(slots=True)
class RawRecord:
    number: int  # 1-based rank among the file's records (the header is not one)
    line: int  # physical line where the record starts
    fields: list[str] | None  # None when the CSV parser could not make a record of it
    error: str = ""


def iter_records(text_stream, delimiter: str) -> Iterator[RawRecord | list[str]]:
    """First the header (a list), then every record; blank lines are not records.

    A record is a CSV record, not a physical line: quoted fields may hold delimiters and line breaks,
    so each record carries the line it starts on. A parser error becomes an error record and reading
    goes on from the next line.
    """
    reader = csv.reader(text_stream, delimiter=delimiter, quotechar='"', doublequote=True, strict=False)
    header_seen = False
    number = 0
    last_line = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if not header_seen:  # no header, no columns: nothing after it can be read as a row
                raise ImportInputError(f"ligne d'en-tête illisible / unreadable header line: {exc}") from None
            number += 1
            yield RawRecord(number, last_line + 1, None, str(exc))
            last_line = reader.line_num
            continue
        start, last_line = last_line + 1, reader.line_num
        if not fields:
            continue
        if not header_seen:
            header_seen = True
            yield fields
            continue
        number += 1
        yield RawRecord(number, start, fields)


class PatientDraft:
    """One (laboratory, person) while the file is read: bounded state, whatever their row count.

    A draft lives for two generations of records (`RecordSorter.next_generation`), then it is written and
    only its id stays, keyed by its material: what the import holds grows by about that much per patient
    (≤ 439 bytes per patient at the peak of a 491,839-row import, everything the peak adds counted,
    benchmarks/README.md). The person key (an HMAC, 64 hex characters) is not held: it is computed from
    `material` when the patient is written.
    """

    __slots__ = (
        "id",
        "existing",
        "lab_id",
        "material",
        "civility",
        "first_name",
        "last_name",
        "birth_name",
        "birth_date",
        "minor",
        "address_line",
        "postcode",
        "city",
        "email",
        "landline",
        "mobile",
        "nir_masked",
        "nir_valid",
        "exposure",
        "sensitive",
        "issues",
        "records",
        "complete",
    )

    def __init__(self, *, patient_id: int, existing: bool, lab_id: int, material: str) -> None:
        self.id = patient_id
        self.existing = existing
        self.lab_id = lab_id
        self.material = material  # what identifies the person (NIR or names, birth date): memory only
        self.civility = self.first_name = self.last_name = self.birth_name = ""
        self.address_line = self.postcode = self.city = ""
        self.email = self.landline = self.mobile = self.nir_masked = ""
        self.birth_date: dt.date | None = None
        self.nir_valid: bool | None = None
        self.minor = False
        self.exposure = self.sensitive = self.issues = self.records = 0
        self.complete = False  # every fillable field has a value: later rows skip the filling

    @property
    def data_issues(self) -> list[str]:
        return [code for bit, code in ISSUE_CODES.items() if self.issues & bit]

    def person_key(self, secret: str) -> str:
        return person_key(self.material, secret)


def _fill_contact(draft: PatientDraft, name: str, raw: str, normalise: Callable[[str], str], issue: int) -> None:
    """Set a draft's still-empty email or phone from `raw`, normalised; flag `issue` when it is not one."""
    normalised = normalise(raw)
    if normalised:
        setattr(draft, name, normalised)
    elif raw.strip():
        draft.issues |= issue


def _has(value: str) -> bool:
    return bool(value) and not value.isspace()


class RowValues(NamedTuple):
    """One record's raw values by canonical field, in `_FIELDS` order (a test keeps the two in step)."""

    lab_code: str
    record_id: str
    civility: str
    last_name: str
    first_name: str
    birth_name: str
    birth_date: str
    nir: str
    address_line: str
    postcode: str
    city: str
    email: str
    landline_phone: str
    mobile_phone: str
    blood_group: str
    prescriber_name: str
    specimen_date: str
    portal_password: str
    insurer: str


@dataclass(slots=True)
class Rejection:
    number: int
    line: int
    reason: str
    message: str  # French first, then English; stored on ImportRejection (no patient data in it)
    fields: list[str]  # the raw row, in memory only: `RecordSorter.rejects_row` decides what reaches the file
    field: str = ""  # the failing column(s) of the file's header, "" when the whole record is at fault


@dataclass(slots=True)
class AcceptedRecord:
    number: int
    patient_id: int
    record_id: str
    specimen_date: dt.date | None
    exposure: int
    sensitive: int


class RecordSorter:
    """Turns each record into an accepted record (merged into its patient draft) or a rejection."""

    def __init__(
        self,
        *,
        plan: ColumnPlan,
        secret: str,
        today: dt.date,
        check_decoding: bool,
        lab_id_for: Callable[[str], int | None],
        existing_patient_id: Callable[[int, str], int | None] | None,
        new_patient_id: Callable[[], int],
    ) -> None:
        """`existing_patient_id` (laboratory id, person key) → id of a patient already in the breach; None
        when the breach has none yet (the first file): person keys are then not computed while reading."""
        self.plan = plan
        self.width = len(plan.header)
        self.secret = secret
        self.today = today
        self.check_decoding = check_decoding
        self.lab_id_for = lab_id_for
        self.existing_patient_id = existing_patient_id
        self.new_patient_id = new_patient_id
        # laboratory id → person material → draft (one dict per laboratory: no key tuple per patient).
        # New patients go through generations (`next_generation`): `drafts` takes the persons first seen
        # since the last call, `sealed` those of the generation before, which rows may still complete
        # until the next call hands them out to be written; then only their ids stay (`written`).
        self.drafts: dict[int, dict[str, PatientDraft]] = {}
        self.sealed: dict[int, dict[str, PatientDraft]] = {}
        self.written: dict[int, dict[str, int]] = {}
        # Patients already in the database (an earlier file, or this one's written generations) that this
        # file's later rows add to: merged at the end (`services._merge_existing`).
        self.updates: dict[int, dict[str, PatientDraft]] = {}
        self.lab_ids: dict[str, int | None] = {}
        # Every canonical field becomes one position of an "extended row": the row itself, then the
        # joined value of each multi-column field, then "" for unmapped fields; one C-level itemgetter
        # call then yields all the values of a record in _FIELDS order (a RowValues).
        self._joins: list[tuple[int, ...]] = []
        positions = []
        for name in _FIELDS:
            indices = plan.columns.get(name, ())
            if len(indices) == 1:
                positions.append(indices[0])
            elif indices:
                positions.append(self.width + len(self._joins))
                self._joins.append(indices)
            else:
                positions.append(-1)  # the trailing ""
        self._pick = itemgetter(*positions)
        self._comment_columns = plan.columns.get("comment", ())
        self._other_columns = plan.other_admin
        self._lab_column = self._column_names("lab_code")
        self._identity_columns = " / ".join(name for name in (self._column_names("last_name"),
                                                              self._column_names("nir")) if name)  # fmt: skip

    def next_generation(self) -> list[PatientDraft]:
        """The new patients of the generation before the current one, to be written now: a person's rows
        close together in the file (as the generator writes them, within 20,000 rows) are all in by then.
        A later row of one of them becomes an update of the written patient (`updated_drafts`)."""
        ready = self.sealed
        for lab_id, drafts in ready.items():
            written = self.written.setdefault(lab_id, {})
            for material, draft in drafts.items():
                written[material] = draft.id
        self.sealed, self.drafts = self.drafts, {}
        return [draft for drafts in ready.values() for draft in drafts.values()]

    def updated_drafts(self) -> list[PatientDraft]:
        """What this file adds to patients already written (by an earlier file or an earlier generation)."""
        return [draft for drafts in self.updates.values() for draft in drafts.values()]

    def _column_names(self, canonical: str) -> str:
        return " + ".join(self.plan.header[index] for index in self.plan.columns.get(canonical, ()))

    def accept_or_reject(self, record: RawRecord) -> AcceptedRecord | Rejection:
        """One record: a rejection with its reason, or merged into its patient's draft and accepted."""
        rejection = self._malformed(record)
        if rejection is not None:
            return rejection
        row = record.fields
        values = self._values(row)
        lab_code, last_name, nir_raw = values.lab_code.strip(), values.last_name.strip(), values.nir.strip()
        if not lab_code:
            return Rejection(record.number, record.line, NO_LAB_CODE,
                             "code de laboratoire absent / no laboratory code", row, self._lab_column)  # fmt: skip
        if len(lab_code) > LAB_CODE_MAX:
            return Rejection(record.number, record.line, LAB_CODE_TOO_LONG,
                             "code de laboratoire trop long / laboratory code too long", row, self._lab_column)  # fmt: skip
        if not last_name and not nir_raw:
            return Rejection(record.number, record.line, NO_IDENTITY, "ni nom ni NIR / neither a last name nor a NIR",
                             row, self._identity_columns)  # fmt: skip
        lab_id = self.lab_ids.get(lab_code, _UNSEEN)
        if lab_id == _UNSEEN:
            lab_id = self.lab_ids[lab_code] = self.lab_id_for(lab_code)
        if lab_id is None:
            return self._unknown_laboratory(record, lab_code)

        first_name, birth_raw = values.first_name.strip(), values.birth_date.strip()
        draft = self._draft_for(lab_id, nir_raw, last_name, first_name, birth_raw)
        exposure, sensitive = self._exposure(row, values, last_name, first_name, birth_raw, nir_raw)
        if not draft.complete:
            self._complete(draft, values, last_name, first_name)
        draft.exposure |= exposure
        draft.sensitive |= sensitive
        draft.records += 1

        record_id = values.record_id
        if record_id and not record_id.isprintable():
            record_id = clean_text(record_id)
        specimen_raw = values.specimen_date.strip()
        return AcceptedRecord(
            record.number,
            draft.id,
            record_id.strip()[: _MAX["record_id"]],
            parse_date(specimen_raw, pivot_year=self.today.year) if specimen_raw else None,
            exposure,
            sensitive,
        )

    def _unknown_laboratory(self, record: RawRecord, lab_code: str) -> Rejection:
        """A code that names no laboratory: a corrupted code must not become a phantom laboratory."""
        message = (
            f"code de laboratoire inconnu « {_shown(lab_code, LAB_CODE_MAX)} » : créez ce laboratoire, ou relancez l'import avec "
            f"--allow-new-laboratories si le fichier en crée / unknown laboratory code"
        )
        return Rejection(record.number, record.line, UNKNOWN_LAB_CODE, message[:_MESSAGE_MAX], record.fields or [],
                         self._lab_column)  # fmt: skip

    def _malformed(self, record: RawRecord) -> Rejection | None:
        """The rejection of a record that is not a row of this file's shape, None for one that is."""
        row = record.fields
        if row is None:
            message = f"enregistrement CSV illisible / CSV parse error: {record.error}"
            return Rejection(record.number, record.line, UNPARSEABLE, message[:_MESSAGE_MAX], [])
        if len(row) != self.width:
            message = f"{len(row)} champs alors que l'en-tête en a {self.width} / {len(row)} fields where the header has {self.width}"
            return Rejection(record.number, record.line, FIELD_COUNT, message, row)
        if self.check_decoding and _UNDECODABLE.search("".join(row)):
            column = next(name for name, value in zip(self.plan.header, row, strict=True) if _UNDECODABLE.search(value))
            return Rejection(record.number, record.line, UNDECODABLE,
                             "octets qui ne sont pas du texte valide / bytes that are not valid text", row, column)  # fmt: skip
        return None

    def rejects_row(self, rejection: Rejection) -> list[str | int]:
        """The rejects file's line for a rejection (REJECTS_HEADER): never the row's other columns.

        A row of the wrong width is not aligned with the header (any cell may be the comment or the
        password): only where and why are kept then."""
        lab_code = record_id = nir_masked = ""
        if len(rejection.fields) == self.width:
            values = self._values(rejection.fields)
            lab_code = _shown(values.lab_code, LAB_CODE_MAX)
            record_id = _shown(values.record_id, _MAX["record_id"])
            nir = nir_compact(values.nir.strip())
            nir_masked = _shown(nir_mask(nir), 40) if nir else ""
        return [rejection.number, rejection.line, rejection.reason, rejection.field, rejection.message, lab_code,
                record_id, nir_masked]  # fmt: skip

    def _values(self, row: list[str]) -> RowValues:
        """The row's raw values by canonical field: multi-column fields joined, unmapped fields ""."""
        extended = row + [" ".join(v for v in (row[i].strip() for i in cols) if v) for cols in self._joins]
        extended.append("")
        return RowValues._make(self._pick(extended))

    def _draft_for(self, lab_id: int, nir_raw: str, last_name: str, first_name: str, birth_raw: str) -> PatientDraft:
        """The draft of the row's (laboratory, person), created at the person's first row."""
        nir = nir_compact(nir_raw) if nir_raw else ""
        material = person_material(
            nir_compact_=nir, last_name=last_name, first_name=first_name, birth_date_raw=birth_raw
        )
        drafts = self.drafts.get(lab_id)
        if drafts is None:
            drafts = self.drafts[lab_id] = {}
        draft = drafts.get(material)
        if draft is None:
            sealed = self.sealed.get(lab_id)
            draft = sealed.get(material) if sealed else None
            if draft is None:
                updates = self.updates.get(lab_id)
                draft = updates.get(material) if updates else None
                if draft is None:
                    draft = self._new_draft(lab_id, material, nir, birth_raw)
                    if draft.existing:
                        self.updates.setdefault(lab_id, {})[material] = draft
                    else:
                        drafts[material] = draft
        return draft

    def _exposure(
        self, row: list[str], values: RowValues, last_name: str, first_name: str, birth_raw: str, nir_raw: str
    ) -> tuple[int, int]:
        """(exposure bits, sensitive-comment bits) of what this row exposed: presence tests only, no normalisation."""
        exposure = 0
        if last_name or first_name or _has(values.civility) or _has(values.birth_name):
            exposure |= _IDENTITY
        if birth_raw:
            exposure |= _BIRTH_DATE
        if nir_raw:
            exposure |= _NIR
        if _has(values.address_line) or _has(values.postcode) or _has(values.city):
            exposure |= _POSTAL
        if "@" in values.email:
            exposure |= _EMAIL
        if _has(values.landline_phone) or _has(values.mobile_phone):
            exposure |= _PHONE
        if _has(values.blood_group):
            exposure |= _BLOOD
        if _has(values.prescriber_name):
            exposure |= _PRESCRIBER
        if _has(values.insurer):
            exposure |= _INSURER
        if _has(values.portal_password):
            exposure |= _PASSWORD
        for index in self._other_columns:
            value = row[index]
            if value and not value.isspace():
                exposure |= _OTHER
                break
        sensitive = 0
        for index in self._comment_columns:
            value = row[index]
            if value and not value.isspace():
                sensitive |= classify_comment(value.strip())
        if sensitive:
            exposure |= _COMMENT
        return exposure, sensitive

    def _complete(self, draft: PatientDraft, values: RowValues, last_name: str, first_name: str) -> None:
        """Give the patient what they still lack; the slow normalisers run once per patient and field."""
        civility = values.civility
        if civility and not draft.civility:
            civility = clean_text(civility)
            if civility:
                draft.civility = _intern(civility[: _MAX["civility"]])
                draft.minor = minor_on(birth_date=draft.birth_date, civility=draft.civility, on=self.today)
        if last_name and not draft.last_name:
            draft.last_name = _intern(clean_text(last_name)[: _MAX["name"]])
        if first_name and not draft.first_name:
            draft.first_name = _intern(clean_text(first_name)[: _MAX["name"]])
        if values.birth_name and not draft.birth_name:
            draft.birth_name = _intern(clean_text(values.birth_name)[: _MAX["name"]])
        if values.address_line and not draft.address_line:
            draft.address_line = clean_text(values.address_line)[: _MAX["address_line"]]
        if values.postcode and not draft.postcode:
            draft.postcode = _intern(clean_text(values.postcode)[: _MAX["postcode"]])
        if values.city and not draft.city:
            draft.city = _intern(clean_text(values.city)[: _MAX["city"]])
        if values.email and not draft.email:
            _fill_contact(draft, "email", values.email, normalize_email, _EMAIL_INVALID)
        if values.landline_phone and not draft.landline:
            _fill_contact(draft, "landline", values.landline_phone, normalize_phone, _PHONE_INVALID)
        if values.mobile_phone and not draft.mobile:
            _fill_contact(draft, "mobile", values.mobile_phone, normalize_phone, _PHONE_INVALID)
        draft.complete = bool(
            draft.civility and draft.last_name and draft.first_name and draft.address_line and draft.postcode
            and draft.city and draft.email and draft.landline and draft.mobile
        )  # fmt: skip

    def _new_draft(self, lab_id: int, material: str, nir: str, birth_raw: str) -> PatientDraft:
        """A patient's draft at their first row; `nir` is the row's NIR already compacted ("" if none)."""
        written = self.written.get(lab_id)
        existing_id = written.get(material) if written else None
        if existing_id is None and self.existing_patient_id is not None:
            existing_id = self.existing_patient_id(lab_id, person_key(material, self.secret))
        draft = PatientDraft(
            patient_id=existing_id if existing_id is not None else self.new_patient_id(),
            existing=existing_id is not None,
            lab_id=lab_id,
            material=material,
        )
        if nir:
            draft.nir_masked = _intern(nir_mask(nir))
            draft.nir_valid = nir_valid(nir)
            if not draft.nir_valid:
                draft.issues |= _NIR_INVALID
        if birth_raw:
            birth_date = parse_date(birth_raw, pivot_year=self.today.year)
            if birth_date is None:
                draft.issues |= _BIRTH_DATE_INVALID
            else:
                draft.birth_date = birth_date
                draft.minor = minor_on(birth_date=birth_date, civility=draft.civility, on=self.today)
        return draft


# The canonical fields an extended row carries, in order; comments are classified column by column instead.
_FIELDS = tuple(name for name in CANONICAL_FIELDS if name != "comment")
