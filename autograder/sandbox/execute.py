"""Run a notebook's cells in the sandbox, one at a time, with time and size limits.

* Each cell has a wall-time limit (interrupt, then kill after a grace period) and the notebook
  one in total. A cell that kills or crashes the kernel is recorded, the kernel restarted, the
  student's earlier cells replayed (outputs discarded), and execution goes on after it.
* Outputs are capped per cell and per notebook as they arrive; display updates and widget
  messages are ignored (they would bypass the caps); messages over the client's size limit are
  dropped by ZeroMQ.
* Around each hidden test cell the judge opens a *window* whose one-time key is handed to the
  kernel with that cell (:class:`~autograder.sandbox.judge.JudgeServer`).
"""

from __future__ import annotations

import ast
import contextlib
import os
import secrets
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from nbclient import NotebookClient

from autograder.sandbox.bwrap import descendants
from autograder.sandbox.kernel import SandboxKernelManager
from autograder.sandbox.limits import Limits, SandboxError
from autograder.sandbox.outputs import OutputBudget, clean_output, output_size

HIDDEN = "### BEGIN HIDDEN TESTS"


@dataclass
class CellRun:
    index: int
    status: str  # ok | error | timeout | killed | crashed | skipped | not_run
    detail: str = ""


@dataclass
class Execution:
    cells: list[CellRun] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    restarts: int = 0
    seconds: float = 0.0


def judged_cells(nb: Any, exercises: list[str]) -> dict[int, set[str]]:
    """Hidden test cells (graded, with the hidden-tests marker) -> the exercises their ``check`` calls name."""
    out: dict[int, set[str]] = {}
    for i, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {}) if cell.cell_type == "code" else {}
        if not (isinstance(meta, dict) and meta.get("grade") and HIDDEN in cell.source):
            continue
        names: set[str] = set()
        with contextlib.suppress(SyntaxError, ValueError):
            for node in ast.walk(ast.parse(cell.source)):
                func = getattr(node, "func", None)
                fname = getattr(func, "id", None) or getattr(func, "attr", None)
                if isinstance(node, ast.Call) and fname == "check" and len(node.args) >= 2:
                    if isinstance(node.args[1], ast.Constant) and node.args[1].value in exercises:
                        names.add(node.args[1].value)
        if names:
            out[i] = names
    return out


class LimitedClient(NotebookClient):
    """nbclient with every output path capped: per cell, per notebook, no display updates, no widgets."""

    def __init__(self, nb: Any, sandbox: Any, **kw: Any):
        super().__init__(nb, **kw)
        self.sandbox = sandbox
        self.store_widget_state = False

    def output(self, outs: list, msg: dict, display_id: str | None, cell_index: int) -> Any:  # noqa: ANN401
        lim: Limits = self.sandbox.limits
        if not self.sandbox.output_budget.admit(cell_index, outs, output_size(msg.get("content", {}))):
            return None
        out = super().output(outs, msg, None, cell_index)  # no display id: updates never reach it
        if out is not None and outs and outs[-1] is out:
            safe = clean_output(out, lim.output_bytes)
            if safe is None:
                outs.pop()
            else:
                outs[-1] = safe
        return out

    def _update_display_id(self, display_id: str, msg: dict) -> None:
        return None  # update_display_data would rewrite earlier outputs past the caps

    def handle_comm_msg(self, outs: list, msg: dict, cell_index: int) -> None:
        return None  # widget state and output widgets would bypass the caps


def _make_client(nb: Any, sandbox: Any) -> LimitedClient:
    km = SandboxKernelManager(sandbox=sandbox)
    return LimitedClient(nb, sandbox, km=km, timeout=None, allow_errors=True, record_timing=False, startup_timeout=120,
                         shutdown_kernel="immediate", kernel_name="python3",
                         skip_cells_with_tag="course-never-skip-" + secrets.token_hex(16))  # a student's tag skips nothing


def execute_notebook(nb: Any, sandbox: Any, replayable: set[int] | None = None,
                     windows: dict[int, set[str]] | None = None) -> Execution:
    """Execute every code cell of ``nb`` (in place) in the sandbox, one at a time.

    ``replayable``: indices of cells re-run (outputs discarded) in a fresh kernel after a kernel
    death, so the cells after the fatal one see the student's definitions. ``windows``: hidden
    test cells and the exercises they report (default: :func:`judged_cells`).
    """
    from nbclient.exceptions import DeadKernelError

    lim = sandbox.limits
    if windows is None:
        windows = judged_cells(nb, list(sandbox.registry.exercises))
    sandbox.output_budget = OutputBudget(lim.output_bytes, lim.notebook_output_bytes)
    start = time.monotonic()
    deadline = start + lim.notebook_timeout
    result = Execution()
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    status: dict[int, CellRun] = {}
    skip: set[int] = set()
    position = 0
    while position < len(code_cells):
        if time.monotonic() > deadline:
            break
        client = _make_client(nb, sandbox)
        km = client.km
        fatal: int | None = None
        try:
            with client.setup_kernel(cleanup_kc=True):  # shut the kernel down on leaving
                kept, sandbox.output_budget = sandbox.output_budget, OutputBudget(lim.output_bytes, lim.notebook_output_bytes)
                try:  # replayed outputs are discarded: they count against a budget of their own
                    for i in code_cells[:position]:  # replay the student's earlier cells in a restarted kernel
                        if replayable is not None and i in replayable and i not in skip:
                            shadow = nb.cells[i].copy()
                            shadow["outputs"] = []
                            outcome = _run_cell(client, shadow, i, lim, deadline, None)
                            if outcome.status in ("killed", "crashed"):
                                raise _Dead(i, outcome)
                finally:
                    sandbox.output_budget = kept
                while position < len(code_cells):
                    i = code_cells[position]
                    if time.monotonic() > deadline:
                        break
                    outcome = _run_cell(client, nb.cells[i], i, lim, deadline, windows.get(i))
                    status[i] = outcome
                    position += 1
                    if outcome.status in ("killed", "crashed"):
                        fatal = i
                        break
        except _Dead as dead:
            result.events.append(f"cell {dead.index} killed the kernel again while replaying; it is skipped")
            skip.add(dead.index)
            fatal = -1
        except DeadKernelError as exc:
            if position < len(code_cells):
                i = code_cells[position]
                status[i] = CellRun(i, "crashed", f"the kernel died: {exc}")
                position += 1
                fatal = i
        except Exception as exc:  # the kernel could not start
            sandbox.kill_all()
            if result.restarts == 0 and position == 0 and not result.events:
                result.events.append(f"the kernel did not start ({type(exc).__name__}: {exc}); retrying once")
                if time.monotonic() < deadline:
                    continue
            if position == 0 and result.restarts == 0:
                raise SandboxError(f"the sandboxed kernel failed to start: {type(exc).__name__}: {exc}; "
                                   f"its log: {sandbox.log.text[-1500:]}") from exc
            result.events.append(
                f"the kernel could not be restarted ({type(exc).__name__}: {exc}); the remaining cells were not run"
            )
            break
        if km._watchdog is not None:
            km._watchdog.join(timeout=30)  # its kill, if any, must not reach the next kernel
        if fatal is None:
            break
        if fatal >= 0:
            skip.add(fatal)
            result.events.append(f"cell {fatal}: {status[fatal].detail}")
        if result.restarts >= lim.max_restarts:
            result.events.append(f"the kernel died {result.restarts + 1} times; the remaining cells were not run")
            break
        result.restarts += 1
    for i in code_cells:
        result.cells.append(status.get(i, CellRun(i, "not_run", "not run (an earlier fault or the notebook time limit)")))
        if i not in status:
            nb.cells[i]["outputs"] = []
    if time.monotonic() > deadline:
        result.events.append(f"the notebook time limit ({lim.notebook_timeout:g} s) was reached")
    result.seconds = time.monotonic() - start
    return result


class _Dead(Exception):
    def __init__(self, index: int, outcome: CellRun):
        super().__init__(index)
        self.index, self.outcome = index, outcome


def _run_cell(client: Any, cell: Any, index: int, lim: Limits, deadline: float, window: set[str] | None) -> CellRun:
    """Run one cell with a wall-time limit: interrupt, then kill after a grace period.

    ``window``: the exercises this hidden test cell reports; the judge accepts their reports
    only while it runs, and only with the key handed to the kernel in front of the cell's code.
    """
    from nbclient.exceptions import DeadKernelError

    if not cell.source.strip():
        return CellRun(index, "ok")
    cell.outputs = []
    client.sandbox.output_budget.start_cell(index)
    budget = max(1.0, min(lim.cell_timeout, deadline - time.monotonic()))
    state = {"phase": "running"}
    done = threading.Event()
    km = client.km
    sandbox = km.sandbox
    process = getattr(km.provisioner, "process", None)

    def watchdog() -> None:
        if done.wait(budget):
            return
        state["phase"] = "interrupted"
        with contextlib.suppress(Exception):
            _interrupt(km)
        if done.wait(lim.interrupt_grace):
            return
        state["phase"] = "killed"
        if process is not None:
            for pid in descendants(process.pid):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        sandbox.kill_all()

    timer = threading.Thread(target=watchdog, daemon=True)
    timer.start()
    faults_before = len(sandbox.faults)
    source = cell.source
    if window:
        token = sandbox.judge.open_window(window)
        cell.source = f"__import__('autograder')._arm({token!r})\n" + source
    try:
        client.execute_cell(cell, index, store_history=True)
    except DeadKernelError:
        done.set()
        timer.join()  # a kill in progress must finish before a new kernel starts under the same uid
        new_faults = sandbox.faults[faults_before:]
        if state["phase"] == "killed":
            return CellRun(index, "killed",
                           f"ran over the {budget:g} s time limit and ignored the interrupt; the kernel was killed")
        if new_faults:
            return CellRun(index, "killed", new_faults[-1])
        return CellRun(index, "crashed", "the kernel died while running this cell (os._exit, a crash, or a signal)")
    finally:
        cell.source = source
        if window:
            sandbox.judge.close_window()
        done.set()
        timer.join()
    if state["phase"] == "interrupted":
        return CellRun(index, "timeout", f"ran over the {budget:g} s time limit and was interrupted")
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if errors:
        return CellRun(index, "error", f"{errors[-1].get('ename', '')}: {str(errors[-1].get('evalue', ''))[:300]}")
    return CellRun(index, "ok")


def _interrupt(km: Any) -> None:
    """Send an interrupt_request on the control channel (works through the sandbox)."""
    msg = km.session.msg("interrupt_request", content={})
    km._connect_control_socket()
    km.session.send(km._control_socket, msg)
