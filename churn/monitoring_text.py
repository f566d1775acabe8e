"""How the monitoring figures and the model card are worded, in the reader's language.

The selectors return language-neutral facts (codes and figures); this module turns them
into sentences at display time, for the analyst pages and the API alike.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from churn.monitoring import BAND_ACT, BAND_STABLE, BAND_WATCH, PSI_ACT_ABOVE, PSI_STABLE_BELOW, ROC_AUC_DROP
from churn.reasons import evaluation_method_sentence, feature_label

BAND_LABELS = {
    BAND_STABLE: gettext_lazy("stable"),
    BAND_WATCH: gettext_lazy("watch"),
    BAND_ACT: gettext_lazy("act"),
}
GROUPING_LABELS = {"age_band": gettext_lazy("Age band"), "gender": gettext_lazy("Gender")}
GENDER_LABELS = {"M": gettext_lazy("Male"), "F": gettext_lazy("Female"), "unknown": gettext_lazy("Not recorded")}
BASELINE_LABELS = {
    "model": gettext_lazy("This model"),
    "logistic_regression": gettext_lazy("Baseline: logistic regression"),
}


def band_label(band: str | None) -> str:
    return str(BAND_LABELS.get(band, "—")) if band else "—"


def group_label(grouping: str, group: str) -> str:
    if grouping == "gender":
        return str(GENDER_LABELS.get(group, group))
    if group == "unknown":
        return _("Not recorded")
    if group == "60+":
        return _("60 and over")
    if group == "<30":
        return _("under 30")
    return _("%(range)s years") % {"range": group}


def metric_set_label(name: str) -> str:
    if name in BASELINE_LABELS:
        return str(BASELINE_LABELS[name])
    if name.startswith("rule"):
        return _("Baseline: rule of thumb (%(rule)s)") % {"rule": name.removeprefix("rule_")}
    return name


def subject_label(subject: str) -> str:
    if subject == "score":
        return _("the churn score")
    if subject == "roc_auc":
        return "ROC AUC"
    label = feature_label(subject)
    return f"{subject} ({label})" if label else subject


def warning_sentence(warning: dict) -> str:
    """One warning, as the analyst page and the API word it."""
    detail = warning.get("detail") or {}
    if warning["kind"] == "performance":
        return _("Realised ROC AUC of the scores at %(month)s was %(realised).3f, more than %(drop).2f below "
                 "the %(training).3f of training. Consider retraining.") % {
            "month": detail.get("month_end"), "realised": detail.get("roc_auc") or 0.0, "drop": ROC_AUC_DROP,
            "training": detail.get("training_roc_auc") or 0.0}
    if warning["level"] == BAND_ACT:
        return _("Drift of %(subject)s: PSI %(psi).3f, above %(limit).2f since %(date)s. Consider retraining.") % {
            "subject": subject_label(warning["subject"]), "psi": detail.get("psi") or 0.0, "limit": PSI_ACT_ABOVE,
            "date": warning["first_seen"]}
    return _("Drift of %(subject)s: PSI %(psi).3f, past %(limit).2f since %(date)s. Keep an eye on it.") % {
        "subject": subject_label(warning["subject"]), "psi": detail.get("psi") or 0.0, "limit": PSI_STABLE_BELOW,
        "date": warning["first_seen"]}


def limit_sentence(fact: dict) -> str:
    code = fact["code"]
    if code == "one_bank":
        return _("Trained on this bank's own history only (%(months)s month-ends); it says nothing about "
                 "other banks or about customers unlike those in the data.") % {"months": fact["months"]}
    if code == "short_history":
        return _("Only %(months)s month-ends of data: seasonal effects and slow drains are barely seen.") % {
            "months": fact["months"]}
    if code == "held_out_customers":
        return _("Evaluated on held-out customers of the same month-end: a later month may score worse.")
    if code == "min_aum":
        return _("Customers with under %(aum)s CNY average AUM are not scored.") % {
            "aum": f"{fact['min_avg_aum']:,.0f}"}
    if code == "definition":
        return _("Churn means, within %(window)s months: all accounts closed, AUM below %(ratio).0f%% of its "
                 "3-month average, or a lasting fall to a lower tier. Other losses (a customer who moves "
                 "spending but keeps AUM) are not predicted.") % {"window": fact["window"],
                                                                 "ratio": fact["drop_ratio"] * 100}
    if code == "group_gap":
        return _("Groups by %(grouping)s differ: alert rate ratio %(ratio)s, recall gap %(gap)s. Check that "
                 "the playbooks treat them fairly.") % {
            "grouping": str(GROUPING_LABELS.get(fact["by"], fact["by"])).lower(),
            "ratio": fact["alert_rate_ratio"] if fact["alert_rate_ratio"] is not None else "—",
            "gap": fact["recall_gap"] if fact["recall_gap"] is not None else "—"}
    if code == "no_reference":
        return _("Trained before drift references were kept: drift cannot be measured for this version.")
    if code == "unobserved":
        return _("It sees only what the bank exports: a competitor's offer the customer heard of, or a move "
                 "to another city, shows only once balances fall.")
    return code


def card_worded(card: dict) -> dict:
    """The model card's facts with their sentences in the active language (for the API)."""
    return {
        **card,
        "evaluation_method_text": evaluation_method_sentence(card["evaluation_method"]),
        "metric_labels": {name: metric_set_label(name) for name in card["metrics"]},
        "limits_text": [limit_sentence(fact) for fact in card["limits"]],
    }
