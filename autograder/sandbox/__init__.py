"""Run a student's notebook in a bubblewrap sandbox and judge the hidden checks outside it.

One module per job:

==============  ===============================================================================
``limits``      :class:`Limits` (plain data) and :class:`SandboxError`
``wire``        the probe-to-judge wire format (also shipped into the sandbox)
``strip``       what of the checks enters the sandbox: probes only (:func:`probe_only_source`)
``bwrap``       the bubblewrap command line, sandbox user ids, process helpers
``kernel``      the sandboxed kernel's manager and client, its log pipe, its watchdog
``judge``       the judge server: one socket, one connection at a time, windows and keys
``run``         :class:`Sandbox`: one notebook's run folder, package, judge and log
``execute``     :func:`execute_notebook`: cells one at a time, time and output limits
``outputs``     what of the student's outputs may reach a browser
``verdicts``    :func:`apply_verdicts`: test-cell scores and outputs from the trusted verdicts
``fs``          removing a hostile tree safely
``nbgrader``    :class:`SandboxedExecute`, the nbgrader preprocessor (limits as traitlets)
``inside/``     the code that runs in the sandbox (kernel launcher, ``check`` client)
==============  ===============================================================================

A hidden-test cell's ``check(assignment, exercise, obj)`` is, inside the sandbox, a client: it
runs the probe (student code on inputs the grader chooses) and reports the plain data over a
unix socket to the judge in this (trusted) process, which judges it and answers. A sandbox that
cannot be set up raises :class:`SandboxError`: there is no fallback.
"""

from __future__ import annotations

from typing import Any

from autograder.sandbox.bwrap import ROOT
from autograder.sandbox.execute import CellRun, Execution, execute_notebook, judged_cells
from autograder.sandbox.kernel import SandboxKernelManager
from autograder.sandbox.limits import Limits, SandboxError
from autograder.sandbox.run import Sandbox
from autograder.sandbox.strip import probe_only_source, sandbox_sources
from autograder.sandbox.wire import decode_plain, encode_plain

__all__ = [
    "ROOT", "CellRun", "Execution", "Limits", "Sandbox", "SandboxError", "SandboxKernelManager", "SandboxedExecute",
    "decode_plain", "encode_plain", "execute_notebook", "judged_cells", "probe_only_source", "sandbox_sources",
]


def __getattr__(name: str) -> Any:
    if name == "SandboxedExecute":  # imports nbgrader: only when asked for
        from autograder.sandbox.nbgrader import SandboxedExecute

        return SandboxedExecute
    raise AttributeError(name)
