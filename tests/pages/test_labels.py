"""Free-text codes from the bank's files shown in the reader's language."""

from __future__ import annotations

from django.utils import translation

from web.templatetags.labels import survey_channel


def test_known_survey_channels_read_in_each_language():
    with translation.override("zh-hans"):
        assert [str(survey_channel(c)) for c in ("phone", "APP", " branch ")] == ["电话", "手机银行", "网点"]
    with translation.override("en"):
        assert [str(survey_channel(c)) for c in ("phone", "app", "branch")] == ["phone", "mobile app", "in branch"]


def test_an_unknown_channel_is_shown_as_the_file_has_it():
    with translation.override("zh-hans"):
        assert survey_channel("kiosk-7") == "kiosk-7"
        assert survey_channel("") == "—"
