"""The status page's one form: the personal code printed on the letter and the birth date."""

from __future__ import annotations

import datetime as dt

from django import forms


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
