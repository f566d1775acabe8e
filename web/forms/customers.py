"""Forms of the customer pages (customer 360, walk-in lookup)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import ContactChannel, ContactResult, Customer, Segment


class SegmentOverrideForm(forms.ModelForm):
    """An RM's own judgement of the segment wins over the rules; the reason is
    required so the next RM (and the analyst tuning the rules) knows why."""

    class Meta:
        model = Customer
        fields = ["segment_override", "segment_override_reason"]
        labels = {"segment_override": _("Segment"), "segment_override_reason": _("Why")}
        widgets = {"segment_override_reason": forms.TextInput(attrs={"maxlength": 300})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        segment = self.fields["segment_override"]
        assert isinstance(segment, forms.ChoiceField), "a CharField with choices makes a choice field"
        # The model's choices, with the blank one saying what it means here.
        segment.choices = [("", _("As assigned by the rules")), *Segment.choices]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("segment_override") and not (cleaned.get("segment_override_reason") or "").strip():
            self.add_error("segment_override_reason", _("Say why you change the segment."))
        if not cleaned.get("segment_override"):
            cleaned["segment_override_reason"] = ""
        return cleaned


class ContactForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=ContactChannel.choices)
    # No result chosen beforehand: an untouched form must not be logged as "reached, talked".
    result = forms.ChoiceField(label=_("Result of the contact"), choices=[("", "—"), *ContactResult.choices],
                               error_messages={"required": _("Choose the result of the contact.")})
    note = forms.CharField(label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    next_step_on = forms.DateField(
        label=_("Next step on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class LookupForm(forms.Form):
    q = forms.CharField(label=_("Name, or last 4 digits of phone or ID number"), required=False, max_length=100)


class HandoverForm(forms.Form):
    note = forms.CharField(
        label=_("Note for the relationship manager"),
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. asked about loan products; seated in the wealth area")}),
    )


class ConsentForm(forms.Form):
    """A do-not-contact request on one channel (``do_not_contact`` 1), or its clearing (0)."""

    channel = forms.ChoiceField(label=_("Channel"), choices=ContactChannel.choices)
    do_not_contact = forms.TypedChoiceField(choices=[("1", "1"), ("0", "0")], coerce=lambda value: value == "1",
                                            initial="1", widget=forms.HiddenInput)
    reason = forms.CharField(
        label=_("Reason"), required=False, max_length=300,
        widget=forms.TextInput(attrs={"maxlength": 300, "placeholder": _("e.g. asked on the phone: no more calls")}),
    )
    # ISO whatever the language: a date input only takes YYYY-MM-DD (zh-hans would print 2024/05/15).
    effective_on = forms.DateField(label=_("From"), widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("do_not_contact") and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", _("Say why the customer does not want to be contacted."))
        return cleaned
