"""The churn engine's settings, read in one place.

Settings the environment may set (the churn definition, risk bands, chunk size,
score retention, minimum history) have their defaults in ``config/settings.py``,
once; the other training knobs have theirs here, once. ``core.conf.setting`` checks the types.
"""

from __future__ import annotations

from pathlib import Path

from core.conf import setting
from customers import conf as customers_conf


def tier_floors() -> dict[str, float]:
    return customers_conf.tier_floors()


def window_months() -> int:
    return setting("CHURN_WINDOW_MONTHS", int)


def aum_drop_ratio() -> float:
    return setting("CHURN_AUM_DROP_RATIO", float)


def min_avg_aum() -> float:
    return setting("CHURN_MIN_AVG_AUM", float)


def band_thresholds() -> tuple[float, float]:
    """(medium, high): probability at or above ``high`` is the high band, at or above ``medium`` medium."""
    bands = setting("CHURN_RISK_BANDS", dict)
    return bands["medium"], bands["high"]


def chunk_size() -> int:
    return setting("CHURN_SCORE_CHUNK_SIZE", int)


def daily_score_retention_days() -> int:
    return setting("CHURN_DAILY_SCORE_RETENTION_DAYS", int)


def model_dir() -> Path:
    return setting("VAR_DIR", Path) / "models"


def min_history_months() -> int:
    """Months of balances the bank's data must span before a model is trained (``CHURN_MIN_HISTORY_MONTHS``).

    Never fewer than the churn window plus one: a month-end and the window after it.
    """
    return setting("CHURN_MIN_HISTORY_MONTHS", int)


def training_max_fit_rows() -> int:
    """Negatives are sampled down to keep the fit set at most this large (Platt scaling on an
    untouched month corrects the probabilities), so training stays within minutes."""
    return setting("CHURN_TRAINING_MAX_FIT_ROWS", int, 150_000)


def openmp_threads() -> int:
    """OpenMP threads scikit-learn may use inside one training or one scoring chunk (default 1).

    Measured on the 2-core machine under the usual load of other processes: fitting the
    gradient-boosted trees took 20 s with one thread and 256 s with two, because the
    threads spin at every barrier while the other is descheduled. Scoring runs one chunk
    per worker process, so the processes are the parallelism.
    """
    return max(1, setting("CHURN_OPENMP_THREADS", int, 1))


def drift_sample_customers() -> int:
    """Customers whose features are rebuilt each night to measure feature drift (a sample: the
    PSI of ten bins needs thousands, not millions; every scored customer's score is compared)."""
    return max(100, setting("CHURN_DRIFT_SAMPLE_CUSTOMERS", int, 20_000))
