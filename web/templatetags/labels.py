"""Labels for codes the bank's files carry as free text (``surveys.csv``'s channel)."""

from __future__ import annotations

from django import template
from django.utils.translation import pgettext_lazy

register = template.Library()

# The channels banks' survey exports commonly use; anything else is shown as the file has it.
SURVEY_CHANNELS = {
    "phone": pgettext_lazy("survey channel", "phone"),
    "call": pgettext_lazy("survey channel", "phone"),
    "app": pgettext_lazy("survey channel", "mobile app"),
    "mobile": pgettext_lazy("survey channel", "mobile app"),
    "branch": pgettext_lazy("survey channel", "in branch"),
    "counter": pgettext_lazy("survey channel", "in branch"),
    "sms": pgettext_lazy("survey channel", "text message"),
    "wechat": pgettext_lazy("survey channel", "WeChat"),
    "email": pgettext_lazy("survey channel", "e-mail"),
    "web": pgettext_lazy("survey channel", "online banking"),
}


@register.filter
def survey_channel(value: str) -> str:
    """``"app"|survey_channel`` -> "mobile app" (手机银行 in Chinese)."""
    if not value:
        return "—"
    return str(SURVEY_CHANNELS.get(value.strip().lower(), value))
