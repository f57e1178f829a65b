"""The judge's end of the probe reports: one socket, one connection at a time, one window per hidden cell.

The grader opens a *window* just before it runs a hidden test cell and closes it afterwards;
the window carries a one-time key (handed to the kernel with that cell) and the exercises the
cell checks. A report is read only if its small header names an exercise of the open window and
carries its key; everything else is refused unread and listed for review. Every accepted report
is judged, and an exercise's verdict is the worst of its reports: a report forged by other code
running in the kernel can add failures, never remove them.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from autograder.sandbox.wire import HEADER_MAX, ProtocolError, decode_plain, recv_json, send_json

HEADER_TIMEOUT = 1.0  # seconds to send the header (the probe sends it at once)
BODY_TIMEOUT = 60.0  # seconds to send the body
MAX_REPORTS = 4  # accepted per exercise and window
MAX_NOTES = 20  # refusals and protocol errors kept for the review report


@dataclass
class Window:
    token: str
    exercises: frozenset[str]
    counts: dict[str, int] = field(default_factory=dict)


class JudgeServer:
    """Accepts probe reports on ``path`` and judges them with ``registry`` (in a thread of this process)."""

    def __init__(self, path: str, registry: Any, message_bytes: int):
        self.registry = registry
        self.message_bytes = message_bytes
        self.source: str | None = None  # the student's code as the grader read it (for static rules)
        self.verdicts: dict[str, list[str]] = {}  # exercise -> failures of its reports ([] = passed)
        self.cases: dict[str, dict] = {}  # exercise -> its hidden cases, the worst of its reports (partial credit)
        self.received: dict[str, Any] = {}  # exercise -> the first decoded report
        self.requests: dict[str, int] = {}  # exercise -> accepted reports
        self.refused: list[str] = []
        self.protocol_errors: list[str] = []
        self.review: list[str] = []
        self.refused_count = 0
        self._window: Window | None = None
        self._idle = threading.Condition()
        self._busy = False
        self._closing = False
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(path)
        self._server.listen(1)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    # -- windows (called by the executor around each hidden test cell)
    def open_window(self, exercises: Iterable[str]) -> str:
        token = secrets.token_hex(16)
        with self._idle:
            self._window = Window(token, frozenset(exercises))
        return token

    def close_window(self, wait: float = 120.0) -> None:
        """Close the window once the report being judged (if any) has its verdict."""
        with self._idle:
            self._window = None
            self._idle.wait_for(lambda: not self._busy, timeout=wait)

    def close(self) -> None:
        self._closing = True
        with contextlib.suppress(OSError):
            self._server.close()

    # -- serving
    def _serve(self) -> None:
        while not self._closing:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            with conn:
                try:
                    self._handle(conn)
                except Exception as exc:  # a broken connection must never stop the server
                    self._note(self.protocol_errors, f"{type(exc).__name__}: {exc}")
                finally:
                    with self._idle:
                        self._busy = False
                        self._idle.notify_all()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(HEADER_TIMEOUT)
        try:
            header = recv_json(conn, HEADER_MAX)
        except (ProtocolError, OSError, ConnectionError) as exc:
            self._note(self.protocol_errors, f"unreadable report header: {exc}")
            return
        exercise = str(header.get("exercise"))[:100] if isinstance(header, dict) else "?"
        token = str(header.get("token", "")) if isinstance(header, dict) else ""
        with self._idle:
            window, reason = self._window, None
            if window is None:
                reason = "no hidden test cell is running"
            elif not secrets.compare_digest(token.encode(), window.token.encode()):
                reason = "it does not carry the key of the hidden test cell that is running"
            elif exercise not in window.exercises:
                reason = f"the hidden test cell that is running checks {', '.join(sorted(window.exercises))}"
            elif window.counts.get(exercise, 0) >= MAX_REPORTS:
                reason = f"more than {MAX_REPORTS} reports in one hidden test cell"
                self._record(exercise, [f"{exercise} was reported more than {MAX_REPORTS} times while its hidden test "
                                        "cell ran (the cell reports once): the report cannot be trusted"], [], 0)
                self._merge_cases(exercise, {"passed": [], "failed": [], "loose": 1})
            if reason is None:
                window.counts[exercise] = window.counts.get(exercise, 0) + 1
                self._busy = True
        if reason:
            self.refused_count += 1
            self._note(self.refused, f"a report for {exercise!r} was refused: {reason}")
            with contextlib.suppress(OSError):
                send_json(conn, {"refused": reason})
            return
        conn.settimeout(BODY_TIMEOUT)
        try:
            data = decode_plain(recv_json(conn, self.message_bytes))
        except (ProtocolError, OSError, ConnectionError) as exc:
            self._note(self.protocol_errors, f"{exercise}: {exc}")
            failures = [f"the grader could not read the probe's report ({str(exc)[:200]})"]
            review: list[str] = []
            cases: dict = {"passed": [], "failed": [], "loose": 1}
        else:
            verdict = self.registry.verdict(exercise, data, self.source)
            failures, review = verdict.failures, verdict.review
            cases = getattr(verdict, "cases", None) or {"passed": [], "failed": [], "loose": int(bool(failures))}
            self.received.setdefault(exercise, data)
        self._merge_cases(exercise, cases)
        merged = self._record(exercise, failures, review, window.counts[exercise])
        with contextlib.suppress(OSError):
            send_json(conn, {"failures": merged})

    def _record(self, exercise: str, failures: list[str], review: list[str], count: int) -> list[str]:
        self.requests[exercise] = self.requests.get(exercise, 0) + 1
        merged = list(self.verdicts.get(exercise, []))
        merged += [f for f in failures if f not in merged]
        self.verdicts[exercise] = merged
        for note in review:
            self._note(self.review, f"{exercise}: {note}")
        if count == 2:
            self._note(self.review, f"{exercise}: more than one report arrived while its hidden test cell ran "
                                    "(only that cell's own call should report); every report was judged, the worst counts")
        return merged

    def _merge_cases(self, exercise: str, cases: dict) -> None:
        """Every report's cases: a case passes only if it passed in every report that checked it."""
        old = self.cases.get(exercise)
        if old is None:
            self.cases[exercise] = {"passed": list(cases["passed"]), "failed": list(cases["failed"]), "loose": cases["loose"]}
            return
        failed = list(dict.fromkeys(old["failed"] + list(cases["failed"])))
        passed = [k for k in dict.fromkeys(old["passed"] + list(cases["passed"])) if k not in failed]
        self.cases[exercise] = {"passed": passed, "failed": failed, "loose": old["loose"] + cases["loose"]}

    @staticmethod
    def _note(notes: list[str], message: str) -> None:
        if len(notes) < MAX_NOTES and message[:300] not in notes:
            notes.append(message[:300])
