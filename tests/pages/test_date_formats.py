"""One date format per language on the pages: "15 May 2024" in English (never "May 15, 2024"
beside "05/15/2024"), 2024年5月15日 in Chinese, long and short alike."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import formats, translation

from tests.pages.conftest import TODAY

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("language,expected", [("en", "15 May 2024"), ("zh-hans", "2024年5月15日")])
def test_long_and_short_dates_are_written_the_same_way(language, expected):
    with translation.override(language):
        for name in ("DATE_FORMAT", "SHORT_DATE_FORMAT"):
            assert formats.date_format(TODAY, name) == expected, name
        stamp = dt.datetime(2024, 5, 15, 9, 30)
        for name in ("DATETIME_FORMAT", "SHORT_DATETIME_FORMAT"):
            assert formats.date_format(stamp, name) == f"{expected} 09:30", name


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_rm_list_shows_no_other_date_format(client, bank, case, language):
    client.force_login(bank.owner)
    page = client.get(reverse("retention:case_list"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert not re.search(r"\b\d{2}/\d{2}/\d{4}\b", page)
    assert not re.search(r"\b(Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\. \d", page)
    assert ("15 May 2024" if language == "en" else "2024年5月15日") in page
