"""django-import-export resources: the returned-mail (NPAI / PND) import and the call-centre list export."""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections import Counter
from collections.abc import Iterable
from typing import Any

from import_export import fields, resources
from import_export.results import RowResult
from tablib import Dataset

from labs.exports import FormulaSafeResource
from patients.models import Patient

from .models import Campaign, Notification
from .postal import returned_mail_record
from .selectors import unreachable_patients

# Accepted column names (printers and La Poste files say it in French or English).
REFERENCE_COLUMNS = ("reference", "référence", "ref", "réf")
DATE_COLUMNS = ("return_date", "date_retour", "date de retour", "date")
REASON_COLUMNS = ("reason", "motif", "reason_code", "code motif")


def _pick(row: Any, names: tuple[str, ...]) -> str:
    lowered = {str(key).strip().lower(): value for key, value in dict(row).items()}
    for name in names:
        if lowered.get(name) not in (None, ""):
            return str(lowered[name]).strip()
    return ""


def _date(value: str) -> dt.date | None:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y"):
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


class ReturnedMailResource(resources.ModelResource):
    """Each row (letter reference, return date, reason) moves its letter to `returned` and triggers the
    campaign's fallback. Unknown references, duplicates and unreadable rows are skipped and counted in
    `report` — never applied. Idempotent: the event id is the letter reference.
    """

    reference = fields.Field(attribute="reference", column_name="reference")

    class Meta:
        model = Notification
        fields = ("reference",)
        import_id_fields = ("reference",)
        use_transactions = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.report: Counter[str] = Counter()
        self.problems: list[tuple[int, str, str]] = []  # (row number, reference, outcome)

    def before_import(self, dataset: Any, **kwargs: Any) -> None:
        """Accept French or English column names: rename them to reference / return_date / reason."""
        canonical = {name: "reference" for name in REFERENCE_COLUMNS}
        canonical |= {name: "return_date" for name in DATE_COLUMNS}
        canonical |= {name: "reason" for name in REASON_COLUMNS}
        if dataset.headers:
            dataset.headers = [canonical.get(str(h).strip().lower(), h) for h in dataset.headers]

    def import_row(self, row: Any, instance_loader: Any, **kwargs: Any) -> RowResult:
        result = RowResult()
        number = kwargs.get("row_number") or sum(self.report.values()) + 1
        reference = _pick(row, REFERENCE_COLUMNS)
        returned_on = _date(_pick(row, DATE_COLUMNS))
        if not reference or returned_on is None:
            outcome = "invalid"
        else:
            outcome = returned_mail_record(reference=reference, returned_on=returned_on,
                                           reason=_pick(row, REASON_COLUMNS), by=kwargs.get("user"))  # fmt: skip
        self.report[outcome] += 1
        if outcome != "applied":
            self.problems.append((number, reference, outcome))
        result.import_type = RowResult.IMPORT_TYPE_UPDATE if outcome == "applied" else RowResult.IMPORT_TYPE_SKIP
        result.object_repr = f"{reference or '?'}: {outcome}"
        result.diff = [reference, outcome]
        return result


class CallCentreResource(FormulaSafeResource, resources.ModelResource):
    """The unreachable patients of a campaign, with what a call centre needs to phone them (formula-safe:
    a name or phone field is patient-supplied text a spreadsheet would otherwise run)."""

    class Meta:
        model = Patient
        fields = ("id", "civility", "last_name", "first_name", "birth_date", "landline_phone", "mobile_phone",
                  "postcode", "city")  # fmt: skip
        export_order = fields


def call_centre_dataset(*, campaigns: Iterable[Campaign]) -> Dataset:
    """The call-centre list of one or more campaigns: one header, each unreachable patient once.

    The admin action and the DPO dashboard's download both build their file from this."""
    querysets = [unreachable_patients(campaign=campaign) for campaign in campaigns]
    if not querysets:
        return CallCentreResource().export(Patient.objects.none())
    # OR of the per-campaign filters: a patient unreachable in two campaigns is phoned once.
    return CallCentreResource().export(functools.reduce(operator.or_, querysets))
