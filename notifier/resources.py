"""Returned-mail files (La Poste's PND lists, or a sheet typed by the DPO) and the call-centre list export.

`returned_mail_lines` reads a returned-mail file as people send them: CSV or XLSX, UTF-8 or cp1252 (Excel's
« CSV (séparateur : point-virgule) »), `;`, `,` or tab, French or English headers. Anything else is refused
with one French sentence (`ReturnedMailFileError`); what each line does is decided by
`notifier.postal.returned_mail_import`.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import operator
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import openpyxl
from django.http import HttpRequest, HttpResponse
from import_export import fields, resources
from tablib import Dataset

from labs.exports import FormulaSafeResource
from letters.typography import phone_display
from patients.models import Patient
from patients.normalize import accentless_lower

from .campaigns import campaign_trail
from .models import Campaign, Notification
from .selectors import unreachable_patients

MAX_BYTES = 10 * 1024 * 1024  # a PND list of 100,000 letters is ~4 MB
MAX_LINES = 100_000

# Column names as printers, La Poste and spreadsheets write them, compared without accents, case or punctuation.
COLUMNS = {
    "reference": {"reference", "ref", "reference courrier", "reference du courrier", "reference lettre",
                  "ref courrier", "n reference", "no reference", "numero de reference", "letter reference"},
    "returned_on": {"date", "date retour", "date de retour", "date du retour", "return date", "returned on",
                    "date de reception", "date retour pnd"},
    "reason": {"motif", "motif retour", "motif de retour", "motif du retour", "code motif", "motif pnd", "reason",
               "reason code", "return reason", "cause"},
}  # fmt: skip
COLUMN_LABELS = {"reference": "référence", "returned_on": "date de retour", "reason": "motif"}
EXPECTED = "référence ; date de retour ; motif (ou reference, return_date, reason)"


class ReturnedMailFileError(ValueError):
    """A file that cannot be read as a returned-mail list; the message is French and says what to do."""


@dataclass(frozen=True)
class ReturnedMailLine:
    """One line of the file as written (text), with its line number in the file (the header is line 1)."""

    line: int
    reference: str
    returned_on: str
    reason: str


def _header_key(text: object) -> str:
    words = re.sub(r"[^a-z0-9]+", " ", accentless_lower(str(text or "")))
    return " ".join(words.split())


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _decode(content: bytes) -> str:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\0" in content[:2000]:
        raise ReturnedMailFileError(
            "Encodage non pris en charge (UTF-16 ?) : enregistrez le fichier en « CSV UTF-8 » ou « CSV (séparateur : "
            "point-virgule) »."
        )
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("cp1252")  # Excel's « CSV (séparateur : point-virgule) » on a French Windows
    except UnicodeDecodeError:
        raise ReturnedMailFileError(
            "Encodage illisible : enregistrez le fichier en « CSV UTF-8 » ou en Windows-1252 (ANSI)."
        ) from None


def _csv_rows(content: bytes) -> Iterator[tuple[int, list[str]]]:
    text = _decode(content)
    if text.lstrip()[:1] == "<":
        raise ReturnedMailFileError(
            "Format non pris en charge (page web ou XML) : envoyez un fichier CSV (séparateur ; ou ,) ou Excel (.xlsx)."
        )
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    line = 1
    for row in reader:
        yield line, [cell.strip() for cell in row]
        line = reader.line_num + 1  # the next record starts after this one's last physical line


def _xlsx_rows(content: bytes) -> Iterator[tuple[int, list[str]]]:
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise ReturnedMailFileError(
            "Ce classeur Excel illisible ou endommagé ne peut pas être lu : enregistrez-le à nouveau en .xlsx ou en CSV."
        ) from error
    try:
        for number, row in enumerate(workbook.worksheets[0].iter_rows(values_only=True), start=1):
            yield number, [_cell(value) for value in row]
    finally:
        workbook.close()


def returned_mail_lines(content: bytes, *, filename: str = "") -> list[ReturnedMailLine]:
    """The lines of a returned-mail file (CSV or XLSX), or ReturnedMailFileError with a French message."""
    if not content.strip():
        raise ReturnedMailFileError("Le fichier est vide.")
    if len(content) > MAX_BYTES:
        raise ReturnedMailFileError("Fichier trop volumineux (10 Mo au plus) : découpez-le en plusieurs fichiers.")
    suffix = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    if content.startswith(b"\xd0\xcf\x11\xe0") or suffix == "xls":
        raise ReturnedMailFileError(
            "Fichier en ancien format Excel (.xls) : enregistrez-le en .xlsx ou en CSV, puis importez-le à nouveau."
        )
    if suffix in ("html", "htm", "xml", "json", "ods", "pdf", "doc", "docx"):
        raise ReturnedMailFileError(
            f"Format non pris en charge (.{suffix}) : envoyez un fichier CSV (séparateur ; ou ,) ou Excel (.xlsx)."
        )
    rows = _xlsx_rows(content) if content.startswith(b"PK\x03\x04") or suffix == "xlsx" else _csv_rows(content)
    return _lines(rows)


def _lines(rows: Iterator[tuple[int, list[str]]]) -> list[ReturnedMailLine]:
    header: dict[str, int] = {}
    found: list[str] = []
    lines: list[ReturnedMailLine] = []
    for number, cells in rows:
        if not any(cells):
            continue
        if not found:
            found = [cell for cell in cells if cell]
            for index, cell in enumerate(cells):
                for column, names in COLUMNS.items():
                    if _header_key(cell) in names and column not in header:
                        header[column] = index
            for column in ("reference", "returned_on"):
                if column not in header:
                    raise ReturnedMailFileError(
                        f"Colonne « {COLUMN_LABELS[column]} » introuvable. Colonnes attendues : {EXPECTED}. "
                        f"Colonnes lues : {', '.join(found)[:300]}."
                    )
            continue
        if len(lines) >= MAX_LINES:
            raise ReturnedMailFileError(f"Plus de {MAX_LINES} lignes : découpez le fichier en plusieurs fichiers.")

        def get(column: str, cells: list[str] = cells) -> str:
            index = header.get(column)
            return cells[index] if index is not None and index < len(cells) else ""

        lines.append(ReturnedMailLine(number, get("reference"), get("returned_on"), get("reason")))
    if not found:
        raise ReturnedMailFileError("Le fichier est vide.")
    if not lines:
        raise ReturnedMailFileError("Le fichier n'a aucune ligne de retour sous son en-tête.")
    return lines


def _unreached_reason(notification: Notification) -> str:
    """Why this channel did not reach the patient, in French words a call-centre agent can say."""
    channel = "courrier" if notification.channel == Notification.Channel.POST else "courriel"
    if notification.status == Notification.Status.RETURNED:
        reason = notification.get_return_reason_display() if notification.return_reason else "motif non indiqué"
        return f"courrier revenu : {reason}"
    return f"{channel} : {notification.get_status_display()}"


class CallCentreResource(FormulaSafeResource, resources.ModelResource):
    """The patients of a campaign reached by neither post nor email who have a phone, with what a call centre
    needs to phone them: French headers, the phone in the national format, the reason, the letter reference
    (formula-safe: a name is patient-supplied text a spreadsheet would otherwise run)."""

    reference = fields.Field(column_name="référence du courrier")
    civility = fields.Field(attribute="civility", column_name="civilité")
    last_name = fields.Field(attribute="last_name", column_name="nom")
    first_name = fields.Field(attribute="first_name", column_name="prénom")
    phone = fields.Field(column_name="téléphone")
    other_phone = fields.Field(column_name="autre téléphone")
    reason = fields.Field(column_name="motif (non joint)")
    postcode = fields.Field(attribute="postcode", column_name="code postal")
    city = fields.Field(attribute="city", column_name="ville")

    class Meta:
        model = Patient
        fields = ("reference", "civility", "last_name", "first_name", "phone", "other_phone", "reason", "postcode",
                  "city")  # fmt: skip
        export_order = fields

    def __init__(self, *, unreached: dict[int, list[Notification]] | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.unreached = unreached or {}

    def _phones(self, patient: Patient) -> list[str]:
        # The mobile first (reaches the person, not the household); both in the national format, with plain
        # spaces (a dialler or a spreadsheet filter trips on the letters' non-breaking ones).
        numbers = (patient.mobile_phone, patient.landline_phone)
        return [phone_display(number, "fr").replace("\u00a0", " ") for number in numbers if number]

    def dehydrate_phone(self, patient: Patient) -> str:
        return (self._phones(patient) or [""])[0]

    def dehydrate_other_phone(self, patient: Patient) -> str:
        return (self._phones(patient)[1:] or [""])[0]

    def dehydrate_reason(self, patient: Patient) -> str:
        return " ; ".join(dict.fromkeys(_unreached_reason(n) for n in self.unreached.get(patient.pk, [])))

    def dehydrate_reference(self, patient: Patient) -> str:
        rows = self.unreached.get(patient.pk, [])
        # The postal reference is the one printed on the letter the patient may hold ("post" sorts after "email").
        return (
            max(rows, key=lambda n: (n.channel == Notification.Channel.POST, n.campaign_id)).reference if rows else ""
        )


def call_centre_download(request: HttpRequest, campaigns: Iterable[Campaign], file_format: Any) -> HttpResponse:
    """One file for the campaigns (the admin's action, the kit page's button): one header, formula-safe; each
    campaign's trail says who took the list and how many patients it held."""
    selected = list(campaigns)
    content = file_format.export_data(call_centre_dataset(campaigns=selected))
    for campaign in selected:
        campaign_trail(campaign=campaign, action="export_call_centre", by=request.user,
                       patients=unreachable_patients(campaign=campaign).count())  # fmt: skip
    charset = "" if file_format.is_binary() else "; charset=utf-8"
    response = HttpResponse(content, content_type=file_format.get_content_type() + charset)
    response["Content-Disposition"] = f'attachment; filename="centre-appels.{file_format.get_extension()}"'
    return response


def call_centre_dataset(*, campaigns: Iterable[Campaign]) -> Dataset:
    """The call-centre list of one or more campaigns: one header, each patient to phone once.

    Patients reached by neither post nor email (deceased excluded, `unreachable_patients`) who have a phone.
    The admin action, the DPO dashboard's download and the call-centre kit all build their file from this."""
    campaigns = list(campaigns)
    querysets = [unreachable_patients(campaign=campaign) for campaign in campaigns]
    if not querysets:
        return CallCentreResource().export(Patient.objects.none())
    # OR of the per-campaign filters: a patient unreachable in two campaigns is phoned once.
    patients = functools.reduce(operator.or_, querysets).exclude(landline_phone="", mobile_phone="")
    unreached: dict[int, list[Notification]] = {}
    rows = Notification.objects.filter(
        campaign__in=campaigns, patient__in=patients, status__in=Notification.UNREACHED
    ).order_by("pk")
    for notification in rows:
        unreached.setdefault(notification.patient_id, []).append(notification)
    return CallCentreResource(unreached=unreached).export(patients)
