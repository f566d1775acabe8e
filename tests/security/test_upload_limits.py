"""A header too wide or too long is refused before anything parses it, quickly and in
bounded memory, on the page and on the API alike.

The probe that found this sent a 400,000-column header (800 KB, under the 1 MB line
guard): 28 s on the page, 39 s on the API, and the process grew by 3 GB."""

from __future__ import annotations

import os
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from customers.models import Branch

pytestmark = pytest.mark.django_db

WIDE_HEADER = b",".join([b"c"] * 400_000) + b"\nGZ01,Guangzhou Tianhe,Guangzhou\n"
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def _rss_bytes() -> int:
    # Resident set size of this process: the second field of /proc/self/statm, in pages.
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE


def _send(world, via: str, content: bytes = WIDE_HEADER):
    upload = SimpleUploadedFile("branches.csv", content, content_type="text/csv")
    client = world.client("analyst")
    path = "/api/v1/imports/" if via == "api" else "/analyst/import/"
    return client.post(path, {"files": [upload]})


@pytest.mark.parametrize("via", ["page", "api"])
def test_a_400000_column_header_is_refused_fast_and_in_bounded_memory(world, via):
    assert len(WIDE_HEADER) > 800_000
    # A first request loads the URL configuration and the templates: not what is measured.
    _send(world, via, b"branch_code\n")
    before = _rss_bytes()
    started = time.perf_counter()
    response = _send(world, via)
    elapsed = time.perf_counter() - started
    grown = _rss_bytes() - before
    print(f"\n{via}: {response.status_code} in {elapsed:.3f} s, RSS grew {grown / 2**20:.1f} MB")
    assert response.status_code in (400, 422)
    body = response.json()["problems"] if via == "api" else [response.content.decode()]
    assert any("columns" in problem or "header" in problem for problem in body), body
    assert elapsed < 1.0
    assert grown < 100 * 2**20
    assert not Branch.objects.filter(code="GZ01").exists()


@pytest.mark.parametrize("header,message", [
    (b",".join([b"c"] * 65), "more than 64 columns"),
    (b"branch_code,name,city," + b"x" * 17_000, "longer than 16 KB"),
])
def test_the_limits_are_settings_and_the_problem_says_which(world, settings, header, message):
    response = _send(world, "api", header + b"\nGZ01,Guangzhou Tianhe,Guangzhou\n")
    assert response.status_code == 400
    assert any(message in problem for problem in response.json()["problems"])
    settings.IMPORT_MAX_COLUMNS, settings.IMPORT_MAX_HEADER_BYTES = 100, 32 * 1024
    response = _send(world, "api", header + b"\nGZ01,Guangzhou Tianhe,Guangzhou\n")
    assert not any(message in problem for problem in response.json()["problems"])


def test_the_import_engine_refuses_a_wide_header_itself_and_checks_no_row(tmp_path, settings):
    """The command-line import has no upload guard in front of it: the engine's own header
    check refuses the file, and a failed header stops the file (no row problems after it)."""
    import pyarrow as pa

    from customers.importing.schema import FILES
    from customers.importing.validation import References, validate_file

    spec = next(spec for spec in FILES if spec.name == "branches.csv")
    empty = pa.array([], pa.string())
    references = References(branches=empty, customers=empty, products=empty, staff_roles={},
                            foreign_usernames=empty)
    path = tmp_path / "branches.csv"
    for header, message in [(WIDE_HEADER, "the header row is longer than 16 KB"),
                            (b",".join([b"c"] * 65) + b"\n", "the header row has more than 64 columns")]:
        path.write_bytes(header)
        result = validate_file(path, spec, references, keep=50, bank_name="Demo Bank",
                               on_clean=lambda table: None, on_restart=lambda: None)
        assert [str(p) for p in result.problems] == [f"branches.csv:1: {message}"]
    path.write_bytes(b"branch_code,name\nGZ01,Guangzhou Tianhe\nGZ01,Again\n")
    result = validate_file(path, spec, references, keep=50, bank_name="Demo Bank",
                           on_clean=lambda table: None, on_restart=lambda: None)
    assert result.rows == 0 and [p.message for p in result.problems] == ["missing required column"]
