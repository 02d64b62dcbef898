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
    public_notice_url = forms.URLField(label=_("Communication publique : lien"), required=False, assume_scheme="https")

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
        if exemption == "c" and not (data.get("public_notice_where") and data.get("public_notice_at")):
            errors["public_notice_where"] = (
                "L'exemption (c) exige une communication publique (support et date) / (c) requires a public notice."
            )
        if (
            data.get("cnil_decision") in ("notify", "not_notify")
            and not (data.get("cnil_decision_reason") or "").strip()
        ):
            errors["cnil_decision_reason"] = "Indiquez le motif de la décision / give the reason."
        if errors:
            raise forms.ValidationError(errors)
        return data


class FilingForm(forms.Form):
    submitted_at = forms.SplitDateTimeField(
        label=_("Déposée le (heure de Paris)"), widget=widgets.AdminSplitDateTime, initial=timezone.now
    )
    cnil_reference = forms.CharField(label=_("Référence CNIL"), max_length=100, required=False)
    delay_reasons = forms.CharField(
        label=_("Motifs du retard (obligatoires si l'échéance est dépassée)"), widget=forms.Textarea, required=False
    )
