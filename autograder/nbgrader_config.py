"""nbgrader configuration for the course (loaded by ../nbgrader_config.py).

Run nbgrader from the repository root: ``nbgrader generate_assignment day1_attention``,
``nbgrader autograde day1_attention``, ... Sources live in solutions/, the student release
in assignments/.
"""

import os
import secrets
import sys

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ---- course-level settings (owner: instructor guide, docs/jupyterhub.md) ----
# The course id, the exchange folder and the per-cell time limit are shared with every student's
# server: they live in deploy/jupyter/nbgrader_config.py (installed as /etc/jupyter/nbgrader_config.py
# on a hub) and are loaded from there, so each is stated once.
_SHARED = os.path.join(ROOT, "deploy", "jupyter", "nbgrader_config.py")
if not os.path.exists(_SHARED):  # load_subconfig would skip a missing file silently
    raise FileNotFoundError(f"the course's shared nbgrader settings are missing: {_SHARED}")
load_subconfig(_SHARED)  # noqa: F821 - provided by traitlets

# Late submissions: a submission collected after the due date (`nbgrader db assignment add <day>
# --duedate=...`) scores 0 (nbgrader's "zero" method: the penalty equals the score autograde gave).
# Manual grades entered afterwards are not covered until that submission is autograded again
# (docs/instructor-guide.md, "Deadlines and late submissions").
c.LateSubmissionPlugin.penalty_method = "zero"

# Feedback shows a student their answers, scores and comments, never a task's mark scheme (the
# formgrader shows it to graders; nbgrader's default feedback would show it to the student too).
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import ClearMarkScheme, GetGrades  # noqa: E402

c.GenerateFeedback.preprocessors = [GetGrades, ClearMarkScheme, CSSHTMLHeaderPreprocessor]
# ---- end of course-level settings ----

c.CourseDirectory.root = ROOT
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"

# nbgrader runs `alembic` from PATH: use the one installed next to this Python.
os.environ["PATH"] = os.pathsep.join((os.path.dirname(sys.executable), os.environ.get("PATH", "")))

# Hidden-test cells import the `autograder` package: make it importable in grading kernels.
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p)

# Execution: the per-cell limit (c.Execute.timeout, from the shared settings above) holds for every
# way a notebook is run by the course's tools: `nbgrader autograde` and `manage.py grade` (both
# sandboxed), and nbgrader's own Execute. A skip tag nobody can guess, so a student's
# "skip-execution" tag on a test cell does not skip it.
c.Execute.interrupt_on_timeout = True
c.Execute.skip_cells_with_tag = "course-skip-" + secrets.token_hex(16)
c.Execute.extra_arguments = ["--HistoryManager.enabled=False"]

# Test cells a student deleted are put back from the source at grading.
c.OverwriteCells.add_missing_cells = True

# torch prints warnings on stderr; nbgrader would give a cell with any stderr 0 points.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"(?i)(warn|deprecat|/site-packages/)"

# Keep feedback readable and grading memory bounded.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 60

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# ---- BEGIN sandboxed autograding (owner: grading; see docs/grading.md) ----
# `nbgrader autograde` runs each notebook in a bubblewrap sandbox and scores every test cell
# from checks judged outside the student's kernel (autograder.sandbox.SandboxedExecute); so does
# `manage.py grade`, with the same limits. No bwrap: autograde fails loudly.
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    CheckCellMetadata,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

from autograder.sandbox.nbgrader import SandboxedExecute  # noqa: E402

c.Autograde.autograde_preprocessors = [
    SandboxedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades, AssignLatePenalties,
    CheckCellMetadata,
]
c.SandboxedExecute.notebook_timeout = 900.0  # seconds for a whole notebook
c.SandboxedExecute.total_memory_bytes = 8 * 2**30  # resident memory of one sandbox (watchdog)
c.SandboxedExecute.scratch_bytes = 256 * 2**20  # each of home/, /tmp and /dev/shm in the sandbox
c.SandboxedExecute.message_bytes = 8 * 2**20  # the largest probe report the judge reads
# UNSAFE switch, for notebooks you trust only: student code then runs in your account, in the
# kernel that runs the hidden tests, and nbgrader scores it from the kernel's own outputs.
# c.SandboxedExecute.unsafe_without_sandbox = True
c.GradeBatch.jobs = 0  # manage.py grade: parallel sandboxes (0: one per core)
# ---- END sandboxed autograding ----
