"""A bank that has exported only five months of balances, in the interchange format's older shape.

Many banks start with a few months of exports. This one has five: two labelled
month-ends (each needs the 3-month churn window after it), too few for a time
split, so a model is evaluated on customers held out of the latest one. Its files
are the format as it was before the optional columns: no ``aum_month_avg`` in
monthly.csv, no ``is_ours`` in products.csv (our products are those whose provider
is ``BANK_NAME``), and no holdings or surveys. The customers behave as in
``demo.second_bank`` (a different churn mechanism from the demo bank's).
"""

from __future__ import annotations

from pathlib import Path

from demo.second_bank import SecondBankOptions, generate_second_bank

MONTHS = 5


def generate_short_bank(out_dir: Path, *, customers: int, seed: int = 0, end_month: str = "2025-12",
                        bank_name: str = "Demo Bank") -> dict[str, int]:
    """Write the bank's CSV files into ``out_dir``; return the data rows written per file."""
    options = SecondBankOptions(daily_average=False, is_ours_column=False, holdings_and_surveys=False,
                                bank_name=bank_name)
    return generate_second_bank(out_dir, customers=customers, months=MONTHS, seed=seed, end_month=end_month,
                                options=options)
