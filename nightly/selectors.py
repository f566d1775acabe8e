"""Reads of the nightly chain: a run's stages, for the run status partial, the API and ``run_nightly``."""

from __future__ import annotations

from churn.models import NightlyRun
from nightly.models import STAGE_ORDER, NightlyStage


def nightly_stages_of(*, run: NightlyRun) -> list[NightlyStage]:
    """The run's stages in chain order (those not recorded yet are left out). Uses the run's
    prefetched ``stages`` when a list has them (``prefetch_related("stages")``)."""
    stages = {stage.name: stage for stage in run.stages.all()}
    return [stages[name] for name in STAGE_ORDER if name in stages]


def nightly_stage_result(*, run: NightlyRun, name: str) -> dict | None:
    """What stage ``name`` of the run returned (e.g. the alert counts of the alerts stage); None until done."""
    return NightlyStage.objects.filter(run=run, name=name).values_list("result", flat=True).first()
