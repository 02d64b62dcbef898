"""django-import-export resources: the list of laboratories and their DPO contacts (CSV/XLSX).

The import is keyed on the laboratory's code in the leak: a known code updates the laboratory, a new one
creates it. Matching across every laboratory is why the Import button is for superusers only
(`labs.access.ADMIN_TABLE`, "labs.manage_shared"): a DPO changes their own laboratory on its page. Every
laboratory an import creates or changes is written to the audit trail, with who imported it. A file with the wrong columns is refused as a whole with a message naming the expected ones
(a patients file uploaded by mistake must not half-import); each row is validated like the model.
"""

from __future__ import annotations

import logging

from import_export import resources
from import_export.results import Error

from .audit import AuditEvent, audit_record
from .exports import FormulaSafeResource
from .models import Laboratory

logger = logging.getLogger(__name__)

LABORATORY_COLUMNS = (
    "code",
    "name",
    "finess_ej",
    "finess_eg",
    "siren",
    "address_line",
    "postcode",
    "city",
    "dpo_name",
    "dpo_email",
    "dpo_phone",
)


class LaboratoryResource(FormulaSafeResource, resources.ModelResource):
    # Formula-safe on export: codes and names come from the leaked file.

    class Meta:
        model = Laboratory
        import_id_fields = ["code"]
        fields = LABORATORY_COLUMNS
        export_order = LABORATORY_COLUMNS
        skip_unchanged = True
        report_skipped = True
        # Model validation on every row (FINESS/SIREN lengths, DPO email): shown per row in the admin.
        clean_model_instances = True

    def get_error_result_class(self):
        return MessageOnlyError

    def import_data(self, dataset, dry_run=False, raise_errors=False, **kwargs):
        """Refuse a file with the wrong columns before any row is read, with a message and no traceback."""
        problem = header_problem(dataset.headers)
        if problem:
            if raise_errors:
                raise ValueError(problem)
            result = self.get_result_class()()
            result.append_base_error(MessageOnlyError(ValueError(problem)))
            return result
        dataset.headers = [str(header).strip() for header in dataset.headers]
        return super().import_data(dataset, dry_run=dry_run, raise_errors=raise_errors, **kwargs)

    def before_import_row(self, row, **kwargs):
        # Spreadsheets pad cells and turn codes into numbers: compare and store trimmed text.
        for column in LABORATORY_COLUMNS:
            if column in row:
                value = row[column]
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                row[column] = "" if value is None else str(value).strip()
        if not row.get("code"):
            raise ValueError("Code de laboratoire vide. / Empty laboratory code.")
        super().before_import_row(row, **kwargs)

    def before_save_instance(self, instance, row, **kwargs):
        instance._import_creates = instance._state.adding
        super().before_save_instance(instance, row, **kwargs)

    def after_save_instance(self, instance, row, **kwargs):
        super().after_save_instance(instance, row, **kwargs)
        if kwargs.get("dry_run"):
            return  # the preview: nothing was written
        action = AuditEvent.Action.ADD if getattr(instance, "_import_creates", False) else AuditEvent.Action.CHANGE
        audit_record(actor=kwargs.get("user"), action=action, obj=instance, via="import",
                     file=kwargs.get("file_name") or "")  # fmt: skip


class MessageOnlyError(Error):
    """An import error shown to the user as its message only: the traceback goes to the log, not the page."""

    @property
    def traceback(self) -> str:
        logger.warning("laboratory import error: %r", self.error, exc_info=self.error)
        return ""


def header_problem(headers: list[str] | None) -> str | None:
    """Why a file's header cannot be a laboratory list (French / English), or None when it can."""
    headers = [str(header or "").strip() for header in (headers or [])]
    expected = ", ".join(LABORATORY_COLUMNS)
    if len(headers) == 1 and (";" in headers[0] or "\t" in headers[0]):
        return (
            "Le fichier semble séparé par des points-virgules ou des tabulations : enregistrez-le en CSV "
            "avec des virgules, ou en XLSX. / The file seems to use semicolons or tabs: save it as "
            "comma-separated CSV, or XLSX."
        )
    if "code" not in headers:
        return (
            f"Colonne « code » absente : colonnes attendues {expected}. "
            f"/ The 'code' column is missing; expected columns: {expected}."
        )
    unknown = [header for header in headers if header not in LABORATORY_COLUMNS]
    if unknown:
        return (
            f"Colonnes inconnues : {', '.join(unknown)} (attendues : {expected}). "
            f"/ Unknown columns: {', '.join(unknown)} (expected: {expected})."
        )
    return None
