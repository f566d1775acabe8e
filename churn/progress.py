"""How training reports how far it has got: a typed callback ``(step, done, total)``.

Training calls it; the retraining page's reporter turns it into a stage and a percent,
and the commands into lines for people. Nothing is worded here and nothing is parsed
back, so renaming a message cannot break the progress bar. No Django import: the
training code that calls it is plain pandas and scikit-learn.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class TrainingStep(StrEnum):
    """The steps of a training, in order; the values are ``TrainingRun.Stage``'s."""

    READING = "reading"
    FEATURES = "features"  # done/total: month-ends built
    FITTING = "fitting"  # done/total: trees grown
    EVALUATING = "evaluating"  # done/total: baselines and attributions
    SAVING = "saving"


class TrainingProgress(Protocol):
    def __call__(self, step: TrainingStep, done: int, total: int) -> None: ...


def no_progress(step: TrainingStep, done: int, total: int) -> None:
    """The default: report nothing."""
