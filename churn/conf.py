"""The churn engine's settings, read in one place with their defaults.

Settings that ``config/settings.py`` does not define yet fall back to the
defaults here, so the engine works before they are added there.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings


def tier_floors() -> dict[str, float]:
    return dict(settings.AUM_TIER_FLOORS)


def window_months() -> int:
    return int(settings.CHURN_WINDOW_MONTHS)


def aum_drop_ratio() -> float:
    return float(settings.CHURN_AUM_DROP_RATIO)


def min_avg_aum() -> float:
    return float(settings.CHURN_MIN_AVG_AUM)


def band_thresholds() -> tuple[float, float]:
    """(medium, high): probability at or above ``high`` is the high band, at or above ``medium`` medium."""
    bands = getattr(settings, "CHURN_RISK_BANDS", {"medium": 0.10, "high": 0.30})
    return float(bands["medium"]), float(bands["high"])


def chunk_size() -> int:
    return int(getattr(settings, "CHURN_SCORE_CHUNK_SIZE", 50_000))


def daily_score_retention_days() -> int:
    return int(getattr(settings, "CHURN_DAILY_SCORE_RETENTION_DAYS", 90))


def model_dir() -> Path:
    return Path(settings.VAR_DIR) / "models"


def min_history_months() -> int:
    """Months of balances the bank's data must span before a model is trained (``CHURN_MIN_HISTORY_MONTHS``).

    Never fewer than the churn window plus one: a month-end and the window after it.
    """
    return int(getattr(settings, "CHURN_MIN_HISTORY_MONTHS", 4))


def training_max_fit_rows() -> int:
    """Negatives are sampled down to keep the fit set at most this large (Platt scaling on an
    untouched month corrects the probabilities), so training stays within minutes."""
    return int(getattr(settings, "CHURN_TRAINING_MAX_FIT_ROWS", 150_000))


def openmp_threads() -> int:
    """OpenMP threads scikit-learn may use inside one training or one scoring chunk (default 1).

    Measured on the 2-core machine under the usual load of other processes: fitting the
    gradient-boosted trees took 20 s with one thread and 256 s with two, because the
    threads spin at every barrier while the other is descheduled. Scoring runs one chunk
    per worker process, so the processes are the parallelism.
    """
    return max(1, int(getattr(settings, "CHURN_OPENMP_THREADS", 1)))
