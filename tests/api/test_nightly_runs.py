"""Nightly run status in the API: each stage with its own status and error."""

from __future__ import annotations

import pytest

from churn.models import NightlyRun
from nightly.models import STAGE_ORDER, NightlyStage, StageStatus

pytestmark = pytest.mark.django_db


def test_a_failed_stage_and_its_error_are_in_the_run_status(world):
    run = world.nightly_run
    # The third stage fails, whatever the chain's stages are: the two before it are done, the rest pending.
    failed = STAGE_ORDER[2]
    NightlyRun.objects.filter(pk=run.pk).update(
        status=NightlyRun.Status.FAILED, errors=[{"stage": failed, "error": "OperationalError('disk full')"}])
    statuses = [StageStatus.DONE, StageStatus.DONE, StageStatus.FAILED,
                *[StageStatus.PENDING] * (len(STAGE_ORDER) - 3)]
    for name, status in zip(STAGE_ORDER, statuses, strict=True):
        NightlyStage.objects.create(run=run, name=name, status=status,
                                    error="OperationalError('disk full')" if status == StageStatus.FAILED else "")

    body = world.client("analyst").get(f"/api/v1/nightly-runs/{run.run_date.isoformat()}/").json()

    assert body["status"] == "failed"
    expected = list(zip(STAGE_ORDER, statuses, strict=True))
    assert [(stage["name"], stage["status"]) for stage in body["stages"]] == expected
    assert body["stages"][2]["error"] == "OperationalError('disk full')"
    assert body["errors"] == [{"stage": failed, "error": "OperationalError('disk full')"}]
