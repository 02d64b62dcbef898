"""Admin forms of labs: the case file (Art. 33(3) facts and decisions) and recording a CNIL filing."""

from __future__ import annotations

from django import forms
from django.contrib.admin import widgets
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .filings import CONSEQUENCES
from .models import BreachLaboratory


class CaseFileForm(forms.ModelForm):
    consequences = forms.MultipleChoiceField(
        label=_("Conséquences probables"), choices=CONSEQUENCES, required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = BreachLaboratory
        exclude: list[str] = []

    def clean(self):
        data = super().clean()
        errors = {}
        # Art. 34(1): the high-risk decision is justified either way.
        if data.get("high_risk") in ("yes", "no") and not (data.get("high_risk_justification") or "").strip():
            errors["high_risk_justification"] = "Justifiez la décision (risque élevé ou non) / justify the decision."
        exemption = data.get("exemption")
        if exemption and exemption != "none" and not (data.get("exemption_justification") or "").strip():
            errors["exemption_justification"] = (
                "Une exemption doit être justifiée / an exemption needs a justification."
            )
        if exemption == "c" and not (self.instance.pk and self.instance.public_communications.exists()):
            errors["exemption"] = _(
                "L'exemption (c) exige une communication publique : enregistrez-la d'abord (« Enregistrer une "
                "communication publique », plus bas), puis choisissez cette exemption."
            )
        if (
            data.get("cnil_decision") in ("notify", "not_notify")
            and not (data.get("cnil_decision_reason") or "").strip()
        ):
            errors["cnil_decision_reason"] = "Indiquez le motif de la décision / give the reason."
        if (
            data.get("cnil_decision") == "not_notify"
            and self.instance.cnil_decision != "not_notify"
            and self.instance.first_filed_at is None
        ):
            # Four eyes: "not to notify" is the CNIL obligation's "not required", approved by a second person.
            errors["cnil_decision"] = _(
                "« Ne pas notifier » se décide dans l'obligation « CNIL — art. 33 » : motif écrit, puis approbation "
                "d'une seconde personne."
            )
        errors.update(_dates_and_counts_errors(data))
        if errors:
            raise forms.ValidationError(errors)
        return data


def _dates_and_counts_errors(data: dict) -> dict[str, str]:
    """The breach's dates in order, minors among the patients, a cause "autre" described."""
    errors = {}
    started, ended, discovered = data.get("started_at"), data.get("ended_at"), data.get("discovered_at")
    if started and ended and ended < started:
        errors["ended_at"] = _("La fin de la violation précède son début.")
    if started and discovered and discovered < started:
        errors["discovered_at"] = _("La découverte précède le début de la violation.")
    for part, whole, label in (
        ("minors_estimate", "people_estimate", _("personnes")),
        ("minors_records_estimate", "records_estimate", _("enregistrements")),
    ):
        if data.get(part) is not None and data.get(whole) is not None and data[part] > data[whole]:
            errors[part] = _(
                "Les mineurs font partie des patients : pas plus de mineurs que de patients (%(what)s)."
            ) % {"what": label}
    if data.get("cause") == "other" and not (data.get("cause_text") or "").strip():
        errors["cause_text"] = _("Précisez la cause (« autre »).")
    return errors


class FilingForm(forms.Form):
    submitted_at = forms.SplitDateTimeField(
        label=_("Déposée le (heure de Paris)"), widget=widgets.AdminSplitDateTime, initial=timezone.now
    )
    cnil_reference = forms.CharField(
        label=_("Référence CNIL (n° de dossier)"),
        max_length=100,
        required=False,
        help_text=_("Donnée par la CNIL au dépôt ; peut être ajoutée plus tard, une seule fois."),
    )
    receipt = forms.FileField(
        label=_("Accusé de réception (PDF)"),
        required=False,
        help_text=_("Le PDF envoyé par la CNIL ; peut être joint plus tard, une seule fois."),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}),
    )
    delay_reasons = forms.CharField(
        label=_("Motifs du retard (obligatoires si l'échéance est dépassée)"), widget=forms.Textarea, required=False
    )


class ReceiptForm(forms.Form):
    """The authority's answer to a filing, added once when it arrives."""

    cnil_reference = forms.CharField(label=_("Référence CNIL (n° de dossier)"), max_length=100, required=False)
    receipt = forms.FileField(
        label=_("Accusé de réception (PDF)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}),
    )


class ObligationAssessForm(forms.Form):
    """Required, or not required with a written rationale (which a second person then approves)."""

    decision = forms.ChoiceField(
        label=_("Évaluation"),
        choices=[
            ("required", _("requise : à déposer")),
            ("not_required", _("non requise : motif écrit, puis approbation d'une seconde personne")),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choisissez « requise » ou « non requise ».")},
    )
    rationale = forms.CharField(
        label=_("Motif"), widget=forms.Textarea(attrs={"rows": 4}), required=False,
        help_text=_("Obligatoire pour « non requise » : pourquoi ce régime ne s'applique pas à ce laboratoire."),
    )  # fmt: skip

    def clean(self):
        data = super().clean()
        if data.get("decision") == "not_required" and not (data.get("rationale") or "").strip():
            self.add_error("rationale", _("« Non requise » exige un motif écrit."))
        return data


class ObligationFileForm(forms.Form):
    """A step of an obligation filed with its authority (ARS / CERT Santé portal, ANSSI)."""

    step = forms.ChoiceField(label=_("Étape"))
    authority = forms.ChoiceField(label=_("Autorité"))
    notified_at = forms.SplitDateTimeField(
        label=_("Déposée le (heure de Paris)"), widget=widgets.AdminSplitDateTime, initial=timezone.now,
        error_messages={
            "required": _("Indiquez la date et l'heure du dépôt."),
            "invalid_date": _("Date invalide (jj/mm/aaaa)."),
            "invalid_time": _("Heure invalide (hh:mm)."),
        },
    )  # fmt: skip
    reference = forms.CharField(label=_("Référence du signalement"), max_length=100, required=False)

    def __init__(self, *args, steps: list[tuple[str, str]], authorities: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["step"].choices = steps
        self.fields["authority"].choices = authorities
