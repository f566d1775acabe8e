"""Forms of the retention pages: the alert list filters and the actions on an alert."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from churn.models import RiskBand
from customers.models import Segment
from retention.models import AlertKind, AlertStatus, Outcome

ANY = [("", _("All"))]

# What the list shows by default ("open") and the other states an RM may want to look back at.
STATUS_FILTERS = [
    ("", _("To do (open and in progress)")),
    (AlertStatus.OPEN, AlertStatus.OPEN.label),
    (AlertStatus.IN_PROGRESS, AlertStatus.IN_PROGRESS.label),
    (AlertStatus.SNOOZED, AlertStatus.SNOOZED.label),
    (AlertStatus.DISMISSED, AlertStatus.DISMISSED.label),
    (AlertStatus.CLOSED_RETAINED, AlertStatus.CLOSED_RETAINED.label),
    (AlertStatus.CLOSED_LOST, AlertStatus.CLOSED_LOST.label),
    (AlertStatus.CLEARED, AlertStatus.CLEARED.label),
]


class AlertFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Alert"), choices=ANY + list(AlertKind.choices), required=False)
    segment = forms.ChoiceField(label=_("Segment"), choices=ANY + list(Segment.choices), required=False)
    band = forms.ChoiceField(label=_("Risk band"), choices=ANY + list(RiskBand.choices), required=False)
    status = forms.ChoiceField(label=_("Status"), choices=STATUS_FILTERS, required=False)

    def selector_filters(self) -> dict:
        """The filters as ``alert_list_for_user`` takes them; an invalid form filters nothing."""
        data = self.cleaned_data if self.is_valid() else {}
        filters = {}
        for field, key in (("kind", "kind"), ("status", "status"), ("segment", "segment"), ("band", "risk_band")):
            if data.get(field):
                filters[key] = data[field]
        return filters


class SnoozeForm(forms.Form):
    until = forms.DateField(label=_("Snooze until"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=_("Note"), required=False, max_length=500)

    # The earliest and latest dates (tomorrow, the snooze horizon) are the service's rule:
    # retention.services.alert_snooze says which was broken, on the page as on the API.


class DismissForm(forms.Form):
    reason = forms.CharField(
        label=_("Why dismiss?"),
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. customer moved abroad; funds already back")}),
    )


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Outcome.choices, widget=forms.RadioSelect)
    note = forms.CharField(label=_("Note"), required=False, max_length=500)
