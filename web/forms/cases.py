"""Forms of the case pages: the RM list's filters and the actions on a case.

The rules of an action (the snooze horizon, a reason required) are the service's
(``retention.case_services``): the form only parses, so the page and the API refuse the
same things with the same message."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from churn.models import RiskBand
from customers.models import Segment
from retention.models import CaseKind, CaseStatus, Outcome, SignalKind

ANY = [("", _("All"))]

# What the list shows by default (the cases to work) and the other states one may look back at.
STATUS_FILTERS = [
    ("", _("To do (open and in progress)")),
    *[(status.value, status.label) for status in CaseStatus],
]


# The digest's task filters (retention.selectors.tasks_due_for_user): the digest links here.
DUE_FILTERS = [
    ("", _("All")),
    ("today", _("My tasks due today")),
    ("overdue", _("My overdue tasks")),
    ("escalated", _("Escalated to the head")),
]


class CaseFilterForm(forms.Form):
    signal = forms.ChoiceField(label=_("Signal"), choices=ANY + list(SignalKind.choices), required=False)
    kind = forms.ChoiceField(label=_("Case"), choices=ANY + list(CaseKind.choices), required=False)
    segment = forms.ChoiceField(label=_("Segment"), choices=ANY + list(Segment.choices), required=False)
    band = forms.ChoiceField(label=_("Risk band"), choices=ANY + list(RiskBand.choices), required=False)
    status = forms.ChoiceField(label=_("Status"), choices=STATUS_FILTERS, required=False)
    due = forms.ChoiceField(label=_("Tasks"), choices=DUE_FILTERS, required=False)

    def selector_filters(self) -> dict:
        """The filters as ``case_list_for_user`` takes them; an invalid form filters nothing."""
        data = self.cleaned_data if self.is_valid() else {}
        pairs = (("signal", "signal"), ("kind", "kind"), ("status", "status"), ("segment", "segment"),
                 ("band", "risk_band"), ("due", "due"))
        return {key: data[field] for field, key in pairs if data.get(field)}


class SnoozeForm(forms.Form):
    until = forms.DateField(label=_("Snooze until"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=_("Note"), required=False, max_length=500)


class DismissForm(forms.Form):
    reason = forms.CharField(
        label=_("Why dismiss?"),
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. customer moved abroad; funds already back")}),
    )


class CloseForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Outcome.choices, widget=forms.RadioSelect)
    reason = forms.CharField(label=_("Why?"), max_length=500,
                             widget=forms.TextInput(attrs={"placeholder": _("e.g. renewed the deposit with us")}))
