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

from autograder.grading.batch import GradeBatch, collect, grade_batch, grade_one, gradescope, load_settings
from autograder.sandbox import Limits, SandboxError

__all__ = ["GradeBatch", "collect", "grade_batch", "grade_one", "gradescope", "load_settings", "Limits", "SandboxError"]
