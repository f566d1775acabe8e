"""Forms of the team's pages: the head's bulk reassign on the case list.

The rules (the same branch, an RM, open cases in scope) are the service's
(``retention.reassigning``); the form only parses."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import User
from retention.reassigning import MAX_CASES, reassign_targets_for_user


class RmChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj} · {obj.branch.name}" if obj.branch_id else str(obj)


class ReassignForm(forms.Form):
    case = forms.TypedMultipleChoiceField(label=_("Cases"), coerce=int, choices=(),
                                          error_messages={"required": _("Choose the cases to reassign.")})
    to = RmChoiceField(label=_("Reassign to"), queryset=User.objects.none(), empty_label=_("Choose an RM"),
                       error_messages={"required": _("Choose the relationship manager to hand them to."),
                                       "invalid_choice": _("Cases go to a relationship manager of the branch.")})

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        to = self.fields["to"]
        assert isinstance(to, forms.ModelChoiceField)
        to.queryset = reassign_targets_for_user(user=user)
        # Any id parses; whether it is the user's to move is the service's question.
        cases = self.fields["case"]
        assert isinstance(cases, forms.TypedMultipleChoiceField)
        values = self.data.getlist("case") if hasattr(self.data, "getlist") else []
        cases.choices = [(value, value) for value in values][: MAX_CASES + 1]
