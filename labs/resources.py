"""django-import-export resources: the list of laboratories and their DPO contacts (CSV/XLSX)."""

from import_export import resources

from .models import Laboratory


class LaboratoryResource(resources.ModelResource):
    class Meta:
        model = Laboratory
        import_id_fields = ["code"]
        fields = [
            "code", "name", "finess_ej", "finess_eg", "siren", "address_line", "postcode", "city",
            "dpo_name", "dpo_email", "dpo_phone",
        ]
        skip_unchanged = True
        report_skipped = True
