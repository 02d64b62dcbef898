"""The agent's form: the letter reference and the birth date the caller reads out."""

from __future__ import annotations

import datetime as dt

from django import forms


class NoticeLookupForm(forms.Form):
    reference = forms.CharField(
        label="Référence du courrier",
        max_length=40,
        strip=True,
        error_messages={"required": "Saisissez la référence imprimée sur la lettre."},
    )
    day = forms.IntegerField(
        label="Jour", min_value=1, max_value=31, error_messages={"required": "Saisissez le jour de naissance."}
    )
    month = forms.IntegerField(
        label="Mois", min_value=1, max_value=12, error_messages={"required": "Saisissez le mois de naissance."}
    )
    year = forms.IntegerField(
        label="Année", min_value=1890, max_value=2100, error_messages={"required": "Saisissez l'année de naissance."}
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("day", "month", "year"):
            field = self.fields[name]
            field.error_messages["invalid"] = "Saisissez un nombre."
            field.error_messages["min_value"] = f"{field.label} : valeur trop petite."
            field.error_messages["max_value"] = f"{field.label} : valeur trop grande."

    def birth_date(self) -> dt.date | None:
        """The typed date, or None when it is not a real day (it then fails like a wrong date)."""
        data = self.cleaned_data
        try:
            return dt.date(data["year"], data["month"], data["day"])
        except (KeyError, TypeError, ValueError):
            return None
