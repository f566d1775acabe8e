"""The branch dashboard's one parameter: the month."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from retention.dashboard import EARLIEST_MONTH


class MonthForm(forms.Form):
    month = forms.DateField(label=_("Month"), required=False, input_formats=["%Y-%m"],
                            widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"))

    def clean_month(self):
        month = self.cleaned_data["month"]
        if month is not None and month < EARLIEST_MONTH:
            raise forms.ValidationError(_("Choose a month from %(first)s on.") % {"first": "1900-01"})
        return month
