"""Instructor-side grading code for the course.

Hidden-test cells call ``check(assignment, exercise, obj)``; everything else (nbgrader
configuration, batch grading, references) lives in the submodules.
"""

from __future__ import annotations

import importlib
from typing import Any

from autograder.harness import Registry

__all__ = ["check", "registry", "ASSIGNMENTS"]

ASSIGNMENTS = (
    "day1_attention",
    "day2_channel_attention",
    "day3_spatial_cbam",
    "day4_self_cross_attention",
    "day5_vit",
    "day6_swin",
    "day7_practicum",
)


def registry(assignment: str) -> Registry:
    """The exercises of an assignment (``autograder.checks.<assignment>.REGISTRY``)."""
    if assignment not in ASSIGNMENTS:
        raise KeyError(f"unknown assignment {assignment!r}; known: {', '.join(ASSIGNMENTS)}")
    return importlib.import_module(f"autograder.checks.{assignment}").REGISTRY


def check(assignment: str, exercise: str, obj: Any) -> None:
    """Run one exercise's hidden checks on ``obj``; raise AssertionError on failure."""
    registry(assignment).check(exercise, obj)
