"""The sandbox's stand-in for the course's `autograder` package.

`check` runs the probe (your code on inputs the grader chooses) and sends the results to the
grader, which judges them outside this kernel and answers with its verdict. The grader accepts a
report only while it runs the hidden test cell of that exercise.
"""

import importlib
import json
import os

with open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "sandbox.json")) as _fh:
    _CONFIG = json.load(_fh)
ASSIGNMENT = _CONFIG["assignment"]
_token = ""


def _arm(token):
    """Called by the grader just before a hidden test cell: the one-time key of that cell's reports."""
    global _token
    _token = str(token)


def registry(assignment=ASSIGNMENT):
    return importlib.import_module("autograder.checks." + ASSIGNMENT).REGISTRY


def check(assignment, exercise, obj):
    from autograder.wire import report

    data = registry().probe(exercise, obj)
    reply = report(_CONFIG["socket"], _token, exercise, data)
    if reply.get("refused"):
        raise AssertionError(f"{exercise}: the grader did not accept this report: {reply['refused']}")
    failures = reply.get("failures")
    if failures is None:
        raise AssertionError(f"{exercise}: the grader sent no verdict")
    if failures:
        lines = "\n".join("  - " + str(m) for m in failures)
        raise AssertionError(f"{exercise}: {len(failures)} hidden check(s) failed:\n{lines}")
    print(f"{exercise}: all hidden checks passed")
