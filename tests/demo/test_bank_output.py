"""The demo bank's files for a seed are pinned byte for byte.

The digests below were taken from the generator before its long simulation step was
split into named steps; a refactoring of the generator must leave them unchanged.
They change only when the simulated bank is meant to change (then say so in the
commit and take new digests), or when numpy's random streams change with its
version (numpy keeps ``default_rng`` streams stable across releases).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from demo.bank import generate_demo_bank

FLOORS = {"gold": 50_000, "platinum": 500_000, "private": 6_000_000}

# 400 customers in chunks of 150 (three chunks, the last one short), 12 months, seed 7.
PINNED_SHA256 = {
    "appointments.csv": "c64b630170ec0fbb075cede050d2f46372f6c07bd6406667a3c2f8568a25bf8b",
    "branches.csv": "3386242ca7371516e52a4f1021c82dac890523f6946919495e9c22fbea1ee1ce",
    "customers.csv": "0ef531bef5100cc14f8a91c0141eec9a19b062644cc26038906a46557706dbd3",
    "holdings.csv": "ace216dbf0de1c1d2f7cffbf7056456efbb738865cc70247b23326ce171e901c",
    "monthly.csv": "70373132087b341711061d8b9bf762cce3972bed3c528e64eac86c42cdc05bad",
    "product_yields.csv": "3b7753aded3c7cf6cd4cbd4d5db1186857bf6894996394ad1b85ed62fd1c94c8",
    "products.csv": "bf93833ee5fcaa41f5d15b0d545dd03f25db09f31e8b930cbe9689c36a003a71",
    "staff.csv": "5a92d20fd2308479dccefe75748938881a4cfca116f5a94433133bcc2af0f344",
    "surveys.csv": "44fdc8b196a36610bac7c3f2035599e8ce8ab018a6ae8aa1dc7f837b890ac560",
}


def test_a_small_bank_for_a_seed_is_byte_identical_to_the_pinned_files(tmp_path: Path, monkeypatch):
    monkeypatch.setattr("demo.bank.CHUNK_SIZE", 150)
    generate_demo_bank(tmp_path, customers=400, months=12, seed=7, end_month="2025-05", today=dt.date(2025, 6, 3),
                       tier_floors=FLOORS)
    digests = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(tmp_path.glob("*.csv"))}
    assert digests == PINNED_SHA256
