"""Worker processes with a deadline per task: a submission that hangs its worker costs only itself.

:func:`run_tasks` keeps ``jobs`` long-lived worker processes (spawned, so each imports torch
once), hands each one task at a time, and kills and replaces a worker whose task runs past its
deadline or whose process dies. Results come back to the caller (the only writer) as they finish.
"""

from __future__ import annotations

import contextlib
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.connection import Connection, wait
from typing import Any

Task = tuple[Callable[..., dict], tuple]


@dataclass
class Outcome:
    """How one task ended: ``result`` (its return value), or ``error`` and ``kind``."""

    index: int
    result: dict | None = None
    kind: str = "ok"  # ok | error | timeout | crash | fatal
    error: str = ""
    seconds: float = 0.0


WARM = ("torch", "autograder.grading.batch")  # imported before a worker takes its first task


def _serve(conn: Connection, warm: Sequence[str]) -> None:
    """A worker: import ``warm`` (outside any deadline), then run the tasks it receives until None."""
    import importlib

    from autograder.sandbox.limits import SandboxError

    for module in warm:
        importlib.import_module(module)
    conn.send(("ready", None))
    while True:
        task = conn.recv()
        if task is None:
            return
        fn, args = task
        try:
            conn.send(("ok", fn(*args)))
        except SandboxError as exc:
            conn.send(("fatal", f"{exc}"))
        except Exception as exc:  # a grader bug: reported with its traceback
            conn.send(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}"))


class _Worker:
    def __init__(self, ctx: Any, warm: Sequence[str]):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, tuple(warm)), daemon=True)
        self.process.start()
        child.close()
        self.task: int | None = None
        self.started = 0.0
        self.ready = False

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.send(None)
        self.process.join(5)
        self.kill()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(10)
        self.conn.close()


def run_tasks(tasks: Sequence[Task], jobs: int, timeout: float, done: Callable[[Outcome], None],
              retries: int = 1, warm: Sequence[str] = WARM) -> None:
    """Run every task on ``jobs`` workers; call ``done`` with each outcome (in completion order).

    A task still running ``timeout`` seconds after it started ends as ``timeout`` (its worker is
    killed); one whose worker dies is retried ``retries`` times, then ends as ``crash``. A task
    that raises SandboxError ends as ``fatal``, and no new task is started after it.
    """
    ctx = get_context("spawn")
    pending = deque(range(len(tasks)))
    tries = dict.fromkeys(range(len(tasks)), 0)
    workers: list[_Worker] = []
    fatal = False
    try:
        while pending or any(w.task is not None for w in workers):
            while len(workers) < min(jobs, len(pending) + sum(w.task is not None for w in workers)) and not fatal:
                workers.append(_Worker(ctx, warm))
            for w in workers:
                if w.ready and w.task is None and pending and not fatal:
                    w.task, w.started = pending.popleft(), time.monotonic()
                    w.conn.send(tasks[w.task])
            starting = [w for w in workers if not w.ready]
            busy = [w for w in workers if w.task is not None]
            if not busy and not starting:
                break
            now = time.monotonic()
            wait_for = min([w.started + timeout - now for w in busy] + [1.0])
            ready = set(wait([w.conn for w in busy + starting], timeout=max(0.05, wait_for)))
            for w in starting:
                if w.conn in ready:
                    try:
                        w.ready = w.conn.recv()[0] == "ready"
                    except (EOFError, OSError):
                        w.kill()
                        workers.remove(w)
                        fatal_error = "a worker process could not start"
                        done(Outcome(pending.popleft() if pending else -1, kind="fatal", error=fatal_error))
                        fatal = True
            for w in busy:
                index, seconds = w.task, time.monotonic() - w.started
                if w.conn in ready:
                    try:
                        kind, value = w.conn.recv()
                    except (EOFError, OSError):
                        kind, value = "died", "the worker process died"
                elif not w.process.is_alive():
                    kind, value = "died", "the worker process died"
                elif seconds > timeout:
                    kind, value = "timeout", f"grading this submission took over {timeout:g} s; it was stopped"
                else:
                    continue
                w.task = None
                if kind in ("died", "timeout"):
                    w.kill()
                    workers.remove(w)
                if kind == "died":
                    outcome = _crashed(index, tries, pending, retries, value, seconds)
                    if outcome is None:
                        continue
                elif kind == "ok":
                    outcome = Outcome(index, result=value, seconds=seconds)
                else:
                    outcome = Outcome(index, kind=kind, error=value, seconds=seconds)
                    fatal = fatal or kind == "fatal"
                done(outcome)
    finally:
        for w in workers:
            w.stop()


def _crashed(index: int, tries: dict[int, int], pending: deque, retries: int, why: str, seconds: float) -> Outcome | None:
    tries[index] += 1
    if tries[index] <= retries:
        pending.appendleft(index)
        return None
    return Outcome(index, kind="crash", error=why, seconds=seconds)
