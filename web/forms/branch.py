"""Forms of the branch's own pages: an interception recorded by the lobby, a callback by the head.

What must be filled in, and when, is the service's rule (``retention.branch_services``): it
says which answer is missing, on the page as it would through any other caller. The forms
only turn the posted text into values.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from retention.branch_services import CALLBACK_OUTCOMES, INTERCEPTION_OUTCOMES
from retention.models import TaskOutcome


class InterceptionForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("What happened?"), required=False, widget=forms.RadioSelect,
        choices=[(value, TaskOutcome(value).label) for value in INTERCEPTION_OUTCOMES],
    )
    amount_kept = forms.DecimalField(
        label=_("Amount kept (CNY)"), required=False, min_value=0, max_digits=18, decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal"}),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=500)


class CallbackForm(forms.Form):
    """The branch head's record of a satisfaction or apology call."""

    # Labels that say what each field asks: whether the call got through, then what was said
    # (not two "results" side by side). Nothing is chosen beforehand: an untouched form is refused.
    outcome = forms.ChoiceField(
        label=_("Did you reach the customer?"), required=False, widget=forms.RadioSelect,
        choices=[(value, TaskOutcome(value).label) for value in CALLBACK_OUTCOMES],
    )
    note = forms.CharField(
        label=_("What did the customer say?"), required=False, max_length=2000,
        help_text=_("Required when you reached the customer: the reason they gave, or what they said."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
