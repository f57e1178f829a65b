"""Batch grading that student code cannot fool (see docs/grading.md).

``python -m autograder.grading SUBMISSIONS --out DIR`` (or ``python3 manage.py grade ...``)
grades a folder of submissions in bubblewrap sandboxes, judges the hidden checks outside the
students' kernels, and writes the nbgrader gradebook, autograded notebooks, HTML feedback,
``grades.csv``, Gradescope-style ``results.json`` files, a per-exercise summary and a cheat report.
"""

from autograder.grading.batch import collect, grade_batch, grade_one, gradescope
from autograder.sandbox import Limits, SandboxError

__all__ = ["collect", "grade_batch", "grade_one", "gradescope", "Limits", "SandboxError"]
