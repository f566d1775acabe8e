"""Every page of the admin reads in Chinese for a Chinese-speaking administrator: the index,
and each model's list, add and change pages. Its own words are checked (titles, app and model
names, column headers, filters, field labels, fieldsets, help texts, actions, buttons), not
the data it shows (user names, codes, free text are the bank's)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from axes.models import AccessAttempt
from django.contrib import admin
from django.urls import reverse

from tests.retention.factories import UserFactory

pytestmark = pytest.mark.django_db

# Latin words a Chinese page may show: the bank's acronyms, units and technical names.
ALLOWED = {"AUM", "CNY", "ID", "CSV", "URL", "API", "REST", "ROC", "AUC", "PR", "PSI", "IP", "HTTP", "GET", "POST",
           "Brier", "SHA", "Django", "JSON", "RM", "NPS", "UTC", "LDAP",
           # Django's own Chinese: "按住 Control 键或 Mac 上的 Command 键来选择多项".
           "Control", "Mac", "Command", "CRM"}
# Elements whose text is the admin's own wording; the text of a table's data cells is not.
WORDING = {"h1", "h2", "h3", "caption", "label", "legend", "button", "option", "th", "title"}
HELP_CLASSES = {"help", "helptext"}


class _Wording(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack: list[tuple[str, bool]] = []
        self.words: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        classes = set((attributes.get("class") or "").split())
        own = tag in WORDING or bool(classes & HELP_CLASSES)
        # A list's data rows (th/td of tbody rows) hold the bank's data, not the admin's words.
        if tag == "th" and "field-" in (attributes.get("class") or ""):
            own = False
        if tag == "input" and attributes.get("type") in ("submit", "button") and attributes.get("value"):
            self.words.append(attributes["value"])
        if tag in ("input", "textarea") and attributes.get("placeholder"):
            self.words.append(attributes["placeholder"])
        if tag == "select":
            # The options of a field's select are the bank's data (branches, versions); the
            # actions' select holds the admin's words.
            self.in_data_select = attributes.get("name") != "action"
        if tag == "option" and getattr(self, "in_data_select", False):
            own = False
            self.stack.append(("option-data", False))
            return
        if tag not in ("br", "img", "input", "meta", "link", "hr"):
            self.stack.append((tag, own))

    def handle_endtag(self, tag):
        while self.stack:
            name, _ = self.stack.pop()
            if name == tag or (tag == "option" and name == "option-data"):
                break

    def handle_data(self, data):
        inside_data_cell = any(name in ("td", "option-data") for name, own in self.stack)
        if any(own for _, own in self.stack) and not inside_data_cell and data.strip():
            self.words.append(data.strip())


def _english(html: str, skip: set[str]) -> list[str]:
    parser = _Wording()
    parser.feed(html)
    found = []
    for text in parser.words:
        for word in re.findall(r"[A-Za-z]+(?:['-][A-Za-z]+)*", text):
            if len(word) < 3:
                continue
            if word not in ALLOWED and word not in skip:
                found.append(f"{word!r} in {text!r}")
    return found


@pytest.fixture
def zh_admin(client):
    user = UserFactory(username="superzh", is_staff=True, is_superuser=True, role="admin", first_name="", last_name="")
    AccessAttempt.objects.create(username="someone", ip_address="10.0.0.1", user_agent="Mozilla", http_accept="*/*",
                                 path_info="/accounts/login/", get_data="", post_data="", failures_since_start=5)
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    return client


def _data_words(model) -> set[str]:
    """The bank's data on the pages of ``model`` (user names, codes): not the admin's wording."""
    words: set[str] = set()
    for obj in model._default_manager.all()[:50]:
        words.update(re.findall(r"[A-Za-z]+(?:['-][A-Za-z]+)*", str(obj)))
    return words


def test_every_admin_page_is_in_chinese(zh_admin, world):
    index = zh_admin.get(reverse("admin:index"))
    assert index.status_code == 200
    problems = [f"index: {p}" for p in _english(index.content.decode(), set())]
    for model in admin.site._registry:
        opts = model._meta
        skip = _data_words(model)
        pages = [reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
                 reverse(f"admin:{opts.app_label}_{opts.model_name}_add")]
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk]))
        for url in pages:
            response = zh_admin.get(url)
            if response.status_code == 403:  # no add page for this model (read-only in the admin)
                continue
            assert response.status_code == 200, url
            problems += [f"{url}: {p}" for p in _english(response.content.decode(), skip)]
    assert not problems, "\n".join(problems)


def test_the_lockout_section_is_named_in_chinese(zh_admin):
    page = zh_admin.get(reverse("admin:index")).content.decode()
    assert "登录锁定" in page and "Axes" not in page
    listing = zh_admin.get(reverse("admin:axes_accessattempt_changelist")).content.decode()
    assert "访问尝试" in listing and "已锁定" in listing
