"""The per-laboratory patient summary export (django-import-export): who, how to reach them, what leaked.

Export only. Never a NIR (the database holds none in clear; the masked form is the most shown), never the
person key, never the sensitive classes: the summary says that a medical comment leaked, not what it said.
"""

from __future__ import annotations

from import_export import fields, resources

from labs.exports import FormulaSafeResource

from .categories import Exposure, Sensitive
from .models import Patient

# Short French words for the admin and exports (the letters have their own, patient-facing sentences).
EXPOSURE_WORDS = {
    Exposure.IDENTITY: "identité",
    Exposure.BIRTH_DATE: "date de naissance",
    Exposure.NIR: "NIR",
    Exposure.POSTAL_ADDRESS: "adresse postale",
    Exposure.EMAIL: "courriel",
    Exposure.PHONE: "téléphone",
    Exposure.BLOOD_GROUP: "groupe sanguin",
    Exposure.PRESCRIBER: "médecin prescripteur",
    Exposure.INSURER: "assurance maladie / mutuelle",
    Exposure.MEDICAL_COMMENT: "commentaire médical",
    Exposure.PORTAL_PASSWORD: "mot de passe du portail",
    Exposure.OTHER_ADMIN: "autres données administratives",
}
SENSITIVE_WORDS = {
    Sensitive.PREGNANCY: "grossesse",
    Sensitive.HIV: "VIH",
    Sensitive.CANCER: "cancer",
    Sensitive.DISABILITY: "handicap",
    Sensitive.MENTAL_HEALTH: "santé mentale",
    Sensitive.GENETIC: "maladie génétique",
    Sensitive.ADDICTION: "addiction",
    Sensitive.OTHER_MEDICAL: "autre commentaire médical",
}


def exposure_words(mask: int) -> str:
    """ "identité, date de naissance, NIR" for a patient's or a record's exposure mask."""
    return ", ".join(word for flag, word in EXPOSURE_WORDS.items() if mask & flag)


def sensitive_words(mask: int) -> str:
    return ", ".join(word for flag, word in SENSITIVE_WORDS.items() if mask & flag)


def channel_words(patient: Patient) -> str:
    """The ways a patient can be told: "courrier, courriel, SMS, téléphone fixe" (empty: unreachable)."""
    channels = []
    if patient.has_postal_address:
        channels.append("courrier")
    if patient.email:
        channels.append("courriel")
    if patient.mobile_phone:
        channels.append("SMS")
    if patient.landline_phone:
        channels.append("téléphone fixe")
    return ", ".join(channels)


SUMMARY_COLUMNS = (
    "laboratory_code",
    "laboratory_name",
    "civility",
    "last_name",
    "first_name",
    "birth_name",
    "birth_date",
    "minor",
    "nir_masked",
    "address_line",
    "postcode",
    "city",
    "email",
    "mobile_phone",
    "landline_phone",
    "channels",
    "exposure",
    "record_count",
)


class PatientSummaryResource(FormulaSafeResource, resources.ModelResource):
    """Formula-safe: names, addresses and emails are leaked text a spreadsheet would otherwise run."""

    laboratory_code = fields.Field(attribute="laboratory__code", column_name="laboratoire")
    laboratory_name = fields.Field(attribute="laboratory__name", column_name="nom du laboratoire")
    civility = fields.Field(attribute="civility", column_name="civilité")
    last_name = fields.Field(attribute="last_name", column_name="nom")
    first_name = fields.Field(attribute="first_name", column_name="prénom")
    birth_name = fields.Field(attribute="birth_name", column_name="nom de naissance")
    birth_date = fields.Field(attribute="birth_date", column_name="date de naissance")
    minor = fields.Field(column_name="mineur")
    nir_masked = fields.Field(attribute="nir_masked", column_name="NIR masqué")
    address_line = fields.Field(attribute="address_line", column_name="adresse")
    postcode = fields.Field(attribute="postcode", column_name="code postal")
    city = fields.Field(attribute="city", column_name="ville")
    email = fields.Field(attribute="email", column_name="courriel")
    mobile_phone = fields.Field(attribute="mobile_phone", column_name="mobile")
    landline_phone = fields.Field(attribute="landline_phone", column_name="téléphone fixe")
    channels = fields.Field(column_name="canaux de contact")
    exposure = fields.Field(column_name="données exposées")
    record_count = fields.Field(attribute="record_count", column_name="enregistrements")

    class Meta:
        model = Patient
        name = "Synthèse des patients par laboratoire / Per-laboratory patient summary"
        fields = SUMMARY_COLUMNS
        export_order = SUMMARY_COLUMNS

    def filter_export(self, queryset, **kwargs):
        # Grouped by laboratory: each laboratory's DPO reads their own block.
        return queryset.select_related("laboratory").order_by("laboratory__code", "last_name", "first_name", "pk")

    def dehydrate_minor(self, patient: Patient) -> str:
        return "oui" if patient.is_minor else "non"

    def dehydrate_channels(self, patient: Patient) -> str:
        return channel_words(patient)

    def dehydrate_exposure(self, patient: Patient) -> str:
        return exposure_words(patient.exposure_mask)
