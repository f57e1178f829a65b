"""Settings of the batch grader and the fingerprint that decides when a journal entry is stale.

``GradeBatch`` holds ``c.GradeBatch.*`` from the course's nbgrader configuration (the sandbox's
limits come from ``SandboxedExecute`` and nbgrader's ``Execute.timeout``); :func:`fingerprint`
covers everything that can change a grade, so a changed reference, notebook, limit or library
version re-grades every submission.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from traitlets import Bool, Dict, Float, Integer, List, Unicode
from traitlets.config import Config, Configurable, PyFileConfigLoader

from autograder.sandbox import ROOT, Limits

__all__ = ["CONFIG_FILE", "GradeBatch", "fingerprint", "grading_files", "load_settings"]

GRADER_VERSION = "2"
CONFIG_FILE = ROOT / "autograder" / "nbgrader_config.py"
class GradeBatch(Configurable):
    """Settings of ``manage.py grade`` beyond the sandbox's (``c.GradeBatch.*`` in the nbgrader config)."""

    jobs = Integer(0, help="Submissions graded in parallel; 0: one per core.").tag(config=True)
    submission_timeout = Float(
        0.0, help="Seconds one submission may take in all (sandbox, every kernel start, judging, feedback) before its "
                  "worker is killed; 0: the notebook limit plus 120 s per kernel start and 120 s more.",
    ).tag(config=True)
    max_file_bytes = Integer(64 * 2**20, help="Largest submission file read; larger ones get 0 with the reason.").tag(
        config=True)
    partial_credit = Bool(
        False, help="Course default: an exercise that fails some hidden cases scores its points in proportion to the "
                    "hidden cases passed (False: all or nothing, the course's default).",
    ).tag(config=True)
    partial_credit_exercises = List(
        Unicode(), help="Exercises with partial credit even when partial_credit is False: 'softmax' (every day's "
                        "exercise of that name) or 'day1_attention.softmax'.",
    ).tag(config=True)
    all_or_nothing_exercises = List(
        Unicode(), help="Exercises without partial credit even when partial_credit is True (same forms).",
    ).tag(config=True)
    roster = Unicode("", help="CSV roster (platform_id, name, email, nbgrader_id): platform ids -> nbgrader ids.").tag(
        config=True)
    late_policy = Unicode(
        "", help="What a submission the platform marked late (Canvas's LATE) scores: 'zero' or 'none'; empty: "
                 "nbgrader's c.LateSubmissionPlugin.penalty_method (the course's is 'zero').",
    ).tag(config=True)
    canvas_columns = Dict(
        help="Canvas grade-import column per assignment, e.g. {'day1_attention': 'Day 1: attention (4321)'} "
             "(default: the assignment's name).",
    ).tag(config=True)
    similarity = Bool(True, help="Write the similarity report (copies of the solutions or of each other).").tag(config=True)
    similarity_threshold = Float(0.9, help="Flag a pair when this share of one side's solution code matches.").tag(
        config=True)
    similarity_cell_threshold = Float(0.9, help="Flag a pair when one solution cell matches this much ...").tag(config=True)
    similarity_min_chars = Integer(150, help="... and that cell has at least this many normalised characters.").tag(
        config=True)
    similarity_noise = Integer(25, help="copydetect's noise threshold: shorter matches are ignored (characters).").tag(
        config=True)
    similarity_guarantee = Integer(30, help="copydetect's guarantee threshold: longer matches are always found.").tag(
        config=True)

    def deadline(self, limits: Limits) -> float:
        return self.submission_timeout or limits.notebook_timeout + 120.0 * (limits.max_restarts + 2)

    def partial_exercises(self, assignment: str, exercises: list[str]) -> list[str]:
        """The exercises of ``assignment`` scored with partial credit."""
        def named(ex: str, names: list[str]) -> bool:
            return ex in names or f"{assignment}.{ex}" in names

        return [ex for ex in exercises if (self.partial_credit or named(ex, self.partial_credit_exercises))
                and not named(ex, self.all_or_nothing_exercises)]


def load_settings(config_file: Path | None = None) -> tuple[Limits, GradeBatch]:
    """The sandbox limits and batch settings of a configuration file (default: the course's)."""
    from autograder.sandbox.nbgrader import SandboxedExecute

    path = Path(config_file or CONFIG_FILE)
    config = Config()
    config.merge(PyFileConfigLoader(path.name, path=str(path.parent)).load_config())
    settings = GradeBatch(config=config)
    if not settings.late_policy:
        settings.late_policy = str(config.LateSubmissionPlugin.get("penalty_method", "none") or "none")
    return SandboxedExecute(config=config).limits(), settings


FINGERPRINT_ROOT: Path | None = None  # tests point it at a scratch copy of the repository


def grading_files(assignment: str, root: Path | None = None) -> list[Path]:
    """Every file that can change a grade: all of ``autograder/`` (code, references, data; the day's
    checks included) and the instructor notebook the graded notebook is assembled from."""
    root = Path(root or FINGERPRINT_ROOT or ROOT)
    files = [p for p in (root / "autograder").rglob("*")
             if p.is_file() and p.suffix not in (".pyc", ".pyo")
             and not any(part == "__pycache__" or part.startswith(".") for part in p.relative_to(root).parts)]
    return sorted(files) + [root / "solutions" / assignment / f"{assignment}.ipynb"]


def fingerprint(assignment: str, limits: Limits, root: Path | None = None, scoring: Any = None) -> str:
    """What a journal entry was graded with: every grading file (:func:`grading_files`), the limits,
    and the torch and torchvision versions. A change to any of them re-grades the submission."""
    from importlib import metadata

    root = Path(root or FINGERPRINT_ROOT or ROOT)
    h = hashlib.sha256(GRADER_VERSION.encode())
    for p in grading_files(assignment, root):
        h.update(str(p.relative_to(root)).encode() + b"\0")
        h.update(p.read_bytes() if p.exists() else b"-")
        h.update(b"\0")
    for dist in ("torch", "torchvision"):
        try:
            h.update(f"{dist}={metadata.version(dist)}".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{dist}=none".encode())
    h.update(json.dumps(limits.as_dict(), sort_keys=True).encode())
    h.update(json.dumps(scoring, sort_keys=True, default=str).encode())  # e.g. the exercises with partial credit
    return h.hexdigest()[:16]
