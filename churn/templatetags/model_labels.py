"""How the analyst pages word a model version's activation, in the reader's language."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils.formats import date_format
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def activation_text(version) -> str:
    """Why ``version`` is active or not, from the decision training recorded in its metrics
    (``metrics["activation"]``); versions trained before that was recorded keep their note."""
    decision = (version.metrics or {}).get("activation")
    if not decision:
        return version.activation_note
    values = {"id": decision.get("incumbent"), "new": decision.get("pr_auc") or 0.0,
              "old": decision.get("incumbent_pr_auc") or 0.0, "month": ""}
    if decision.get("evaluation_month"):
        values["month"] = date_format(dt.date.fromisoformat(decision["evaluation_month"]), "YEAR_MONTH_FORMAT")
    reason = decision.get("reason")
    if reason == "first":
        return _("The first model, so it is active.")
    if reason == "incumbent_unreadable":
        return _("Active: model #%(id)s could not be evaluated on the new month.") % values
    if reason == "better":
        return _("Active: beats #%(id)s on %(month)s (PR AUC %(new).3f vs %(old).3f).") % values
    if decision.get("forced"):
        return _("Activated by hand although it does not beat #%(id)s on %(month)s "
                 "(PR AUC %(new).3f vs %(old).3f).") % values
    return _("Not active: does not beat #%(id)s on %(month)s (PR AUC %(new).3f vs %(old).3f).") % values
