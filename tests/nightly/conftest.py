from __future__ import annotations

import pytest


@pytest.fixture
def model_dir(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    return tmp_path / "models"
