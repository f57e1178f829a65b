"""Batch grading that student code cannot fool, flood or escape (see docs/grading.md).

``python -m autograder.grading SUBMISSIONS --out DIR`` (or ``python3 manage.py grade ...``)
grades a folder of submissions in bubblewrap sandboxes, judges the hidden checks outside the
students' kernels, and writes the nbgrader gradebook, autograded notebooks, HTML feedback,
``grades.csv``, Gradescope-style ``results.json`` files, a per-exercise summary and a review report.

==============  ===========================================================================
``collect``     finding submissions (nbgrader layout, LMS folders and zips)
``verdicts``    the graded notebook from the student's file; test-cell scores from verdicts
``batch``       one submission in a sandbox; the batch, its journal and settings
``pool``        worker processes with a deadline per submission
``feedback``    the per-student feedback page
``reports``     gradebook, grades.csv, Gradescope results, summary, review report
==============  ===========================================================================
"""

from typing import Any

__all__ = ["GradeBatch", "collect", "grade_batch", "grade_one", "gradescope", "load_settings", "Limits", "SandboxError"]


def __getattr__(name: str) -> Any:  # lazy: a worker process imports only what it runs
    if name in ("Limits", "SandboxError"):
        from autograder.sandbox import limits

        return getattr(limits, name)
    if name in __all__:
        from autograder.grading import batch

        return getattr(batch, name)
    raise AttributeError(name)
