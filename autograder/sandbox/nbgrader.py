"""``SandboxedExecute``: nbgrader's Execute preprocessor, run in the sandbox and judged outside it.

``autograder/nbgrader_config.py`` puts it in place of ``Execute`` in
``Autograde.autograde_preprocessors``, so plain ``nbgrader autograde`` executes every notebook
in bwrap, and ``SaveAutoGrades`` scores each test cell from the trusted verdict (the cell's
outputs are the grader's verdict alone). Its limits are traitlets, set in that configuration
file like any nbgrader option; ``manage.py grade`` reads the same file (:meth:`limits`).
"""

from __future__ import annotations

from typing import Any

from nbgrader.preprocessors import Execute
from traitlets import Bool, Float, Integer, Unicode

from autograder.rules import join_cells
from autograder.sandbox.limits import Limits, SandboxError

_D = Limits()


def student_code(nb: Any) -> str:
    """The student's code cells (not graded, not locked) as one text for the static rules."""
    cells = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        meta = meta if isinstance(meta, dict) else {}
        if cell.cell_type == "code" and not meta.get("grade") and not meta.get("locked"):
            cells.append(cell.source)
    return join_cells(cells)


class SandboxedExecute(Execute):
    """nbgrader's Execute, run in the sandbox, with test-cell outputs set from the trusted judge.

    The per-cell limit is nbgrader's own ``Execute.timeout``.
    """

    notebook_timeout = Float(_D.notebook_timeout, help="Seconds for a whole notebook.").tag(config=True)
    interrupt_grace = Float(_D.interrupt_grace, help="Seconds between a cell's interrupt and its kill.").tag(config=True)
    memory_bytes = Integer(_D.memory_bytes, help="RLIMIT_AS of every sandboxed process.").tag(config=True)
    total_memory_bytes = Integer(_D.total_memory_bytes, help="Resident memory of the whole sandbox (watchdog).").tag(
        config=True)
    max_processes = Integer(_D.max_processes, help="Processes in the sandbox (watchdog).").tag(config=True)
    max_tasks = Integer(_D.max_tasks, help="RLIMIT_NPROC: tasks, threads included.").tag(config=True)
    file_size = Integer(_D.file_size, help="RLIMIT_FSIZE: the largest file the kernel may write.").tag(config=True)
    open_files = Integer(_D.open_files, help="RLIMIT_NOFILE.").tag(config=True)
    scratch_bytes = Integer(_D.scratch_bytes, help="Size of each scratch tmpfs: home/, /tmp, /dev/shm.").tag(config=True)
    max_restarts = Integer(_D.max_restarts, help="Kernel restarts after a crash or a kill.").tag(config=True)
    output_bytes = Integer(_D.output_bytes, help="Outputs kept per cell.").tag(config=True)
    notebook_output_bytes = Integer(_D.notebook_output_bytes, help="Outputs kept per notebook.").tag(config=True)
    kernel_message_bytes = Integer(_D.kernel_message_bytes, help="Largest Jupyter message taken from the kernel.").tag(
        config=True)
    message_bytes = Integer(_D.message_bytes, help="Largest probe report the judge reads.").tag(config=True)
    threads = Integer(_D.threads, help="Compute threads of the kernel (and of the judge).").tag(config=True)
    bwrap = Unicode("", help="Path to bubblewrap; empty: the bwrap on PATH.").tag(config=True)
    unsafe_without_sandbox = Bool(
        False, help="UNSAFE: run student code unsandboxed, in your account and in the kernel that runs the hidden "
                    "tests, scored by nbgrader from the kernel's own outputs. Only for notebooks you trust.",
    ).tag(config=True)

    def limits(self) -> Limits:
        """The sandbox limits this configuration sets (``Execute.timeout`` is the per-cell limit)."""
        names = [f for f in Limits.__dataclass_fields__ if f != "cell_timeout"]
        return Limits(cell_timeout=float(self.timeout or _D.cell_timeout), **{n: getattr(self, n) for n in names})

    def preprocess(self, nb: Any, resources: dict) -> tuple[Any, dict]:
        if self.unsafe_without_sandbox:
            self.log.warning("SandboxedExecute.unsafe_without_sandbox is set: student code runs UNSANDBOXED")
            return super().preprocess(nb, resources)
        from autograder.sandbox.execute import execute_notebook
        from autograder.sandbox.run import Sandbox
        from autograder.sandbox.verdicts import apply_verdicts

        assignment = resources.get("nbgrader", {}).get("assignment")
        if not assignment:
            raise SandboxError("SandboxedExecute needs the assignment id (run through nbgrader autograde)")
        with Sandbox(assignment, self.limits(), source=student_code(nb)) as sandbox:
            replayable = {
                i for i, c in enumerate(nb.cells) if c.cell_type == "code" and not c.metadata.get("nbgrader", {}).get("grade")
            }
            execution = execute_notebook(nb, sandbox, replayable)
            records = apply_verdicts(nb, sandbox, execution, student_markdown=True)
            for note in sandbox.review_notes() + [f"file access outside the sandbox: {p}" for p in sandbox.audit()]:
                self.log.warning("review: %s", note)
        failed = [r["grade_id"] for r in records if not r["passed"]]
        self.log.info("sandboxed grading: %d of %d test cells passed the trusted checks%s", len(records) - len(failed),
                      len(records), f" (failed: {', '.join(failed)})" if failed else "")
        return nb, resources
