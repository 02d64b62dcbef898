"""The status page's forms: the code and birth date check, and the right-of-access request."""

from __future__ import annotations

import datetime as dt

from django import forms

from patients.normalize import normalize_email, normalize_phone

from .models import AccessRequest


class CheckForm(forms.Form):
    code = forms.CharField(max_length=40, strip=True)
    day = forms.IntegerField(min_value=1, max_value=31)
    month = forms.IntegerField(min_value=1, max_value=12)
    year = forms.IntegerField(min_value=1890, max_value=2100)

    def birth_date(self) -> dt.date | None:
        """The typed date, or None when it is not a real day (31 February reads as a failed check, not an error)."""
        data = self.cleaned_data
        try:
            return dt.date(data["year"], data["month"], data["day"])
        except (KeyError, TypeError, ValueError):
            return None


# The status page speaks the language of its URL; its form messages follow (French first).
ACCESS_MESSAGES = {
    "fr": {
        "requester": "Indiquez qui fait la demande.",
        "phone": "Ce numéro de téléphone n'est pas valide. Exemple : 06 12 34 56 78.",
        "email": "Cette adresse électronique n'est pas valide. Exemple : prenom.nom@exemple.fr.",
        "contact": "Indiquez un numéro de téléphone ou une adresse électronique pour recevoir la réponse.",
    },
    "en": {
        "requester": "Say who is making the request.",
        "phone": "This phone number is not valid. Example: +33 6 12 34 56 78.",
        "email": "This email address is not valid. Example: first.last@example.com.",
        "contact": "Give a phone number or an email address for the answer.",
    },
}


class AccessRequestForm(forms.Form):
    """A right-of-access request: who asks and where to answer. No free text, so no health data in it."""

    requester = forms.ChoiceField(choices=AccessRequest.Requester.choices, widget=forms.RadioSelect)
    phone = forms.CharField(max_length=40, required=False, strip=True)
    email = forms.CharField(max_length=254, required=False, strip=True)

    def __init__(self, *args, lang: str = "fr", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.messages = ACCESS_MESSAGES[lang]
        self.fields["requester"].error_messages = {
            "required": self.messages["requester"],
            "invalid_choice": self.messages["requester"],
        }
        for name in ("phone", "email"):
            self.fields[name].error_messages["max_length"] = self.messages[name]

    def clean_phone(self) -> str:
        raw = self.cleaned_data.get("phone", "")
        if not raw:
            return ""
        phone = normalize_phone(raw)
        if phone is None:
            raise forms.ValidationError(self.messages["phone"])
        return phone

    def clean_email(self) -> str:
        raw = self.cleaned_data.get("email", "")
        if not raw:
            return ""
        email = normalize_email(raw)
        if email is None:
            raise forms.ValidationError(self.messages["email"])
        return email

    def clean(self) -> dict:
        data = super().clean()
        if not self.errors and not data.get("phone") and not data.get("email"):
            raise forms.ValidationError(self.messages["contact"], code="contact")
        return data
