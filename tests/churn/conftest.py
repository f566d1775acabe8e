from __future__ import annotations

from pathlib import Path

import pytest

LOCALE = Path(__file__).resolve().parents[2] / "churn" / "locale"


@pytest.fixture(scope="session", autouse=True)
def churn_translations_compiled():
    """*.mo files are not committed; compile the churn catalogue (pure Python, Babel) if needed."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in LOCALE.glob("*/LC_MESSAGES/django.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as fh:
                catalog = read_po(fh)
            with mo.open("wb") as fh:
                write_mo(fh, catalog)


@pytest.fixture
def model_dir(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    return tmp_path / "models"
