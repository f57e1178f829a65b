"""The Jupyter kernel manager and client for a sandboxed ipykernel, and its watchdog.

The kernel runs inside bwrap and talks ZeroMQ over unix sockets in a fresh ``ipc-<n>/`` folder
(one per kernel start, so nothing the previous kernel left there is ever used). Its stderr is
a pipe into :class:`KernelLog` (bounded), never a file. The client refuses any single Jupyter
message over ``Limits.kernel_message_bytes``. The watchdog kills the whole sandbox when it holds
too many processes or too much memory, or when anything but the kernel's sockets appears in
its ``ipc`` folder.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import threading
import time
from typing import Any

import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.connect import channel_socket_types
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from traitlets import Any as AnyTrait

from autograder.sandbox.bwrap import descendants, pss, statm_rss
from autograder.sandbox.limits import SandboxError


class SandboxKernelClient(AsyncKernelClient):
    """A kernel client whose sockets drop any message larger than ``max_message_bytes``."""

    max_message_bytes = 32 * 2**20

    def _create_connected_socket(self, channel: str, identity: bytes | None = None) -> zmq.Socket:
        sock = self.context.socket(channel_socket_types[channel])
        sock.linger = 1000
        sock.setsockopt(zmq.MAXMSGSIZE, int(self.max_message_bytes))
        if identity:
            sock.identity = identity
        sock.connect(self._make_url(channel))
        return sock


class KernelLog:
    """The kernel's stderr: the first ``keep`` bytes of text, and the audit lines (at most ``max_audit``)."""

    def __init__(self, mark: str, keep: int = 65536, max_audit: int = 200):
        self.mark, self.keep, self.max_audit = mark, keep, max_audit
        self.text = ""
        self.audit: list[str] = []
        self._threads: list[threading.Thread] = []

    def attach(self, fd: int) -> None:
        thread = threading.Thread(target=self._read, args=(fd,), daemon=True)
        thread.start()
        self._threads.append(thread)

    def _read(self, fd: int) -> None:
        pending = b""
        with open(fd, "rb", buffering=0, closefd=True) as pipe:
            while chunk := pipe.read(65536):
                if len(self.text) < self.keep:
                    self.text += chunk.decode("utf-8", "replace")[: self.keep - len(self.text)]
                lines = (pending + chunk).split(b"\n")
                pending = lines.pop()[-4096:]
                for raw in lines:
                    line = raw.decode("utf-8", "replace")
                    if line.startswith(self.mark) and len(self.audit) < self.max_audit:
                        entry = line[len(self.mark):][:300]
                        if entry not in self.audit:
                            self.audit.append(entry)

    def wait(self, timeout: float = 5.0) -> None:
        for thread in self._threads:
            thread.join(timeout)


class SandboxKernelManager(AsyncKernelManager):
    """An ipykernel inside bwrap, reached over unix sockets in the sandbox's run directory."""

    sandbox = AnyTrait(None, allow_none=True)

    def __init__(self, **kwargs: Any) -> None:
        sandbox = kwargs.pop("sandbox", None)
        kwargs.setdefault("transport", "ipc")
        super().__init__(**kwargs)
        if sandbox is None:
            raise SandboxError("SandboxKernelManager needs a Sandbox (use autograder.sandbox.SandboxedExecute)")
        self.sandbox = sandbox
        self.client_factory = SandboxKernelClient
        self.ipc_dir = sandbox.new_ipc_dir()
        self.transport = "ipc"
        self.ip = str(self.ipc_dir / "kernel")
        self.connection_file = str(self.ipc_dir / "kernel.json")
        self._watchdog: threading.Thread | None = None

    @property
    def kernel_spec(self) -> KernelSpec:  # type: ignore[override]
        return KernelSpec(argv=self.sandbox.kernel_argv(), display_name="Python 3 (sandboxed)", language="python",
                          interrupt_mode="message", env={}, metadata={})

    def client(self, **kwargs: Any) -> SandboxKernelClient:
        kc = super().client(**kwargs)
        kc.max_message_bytes = self.sandbox.limits.kernel_message_bytes
        return kc

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd([])  # nbclient's extra arguments are in kernel_argv already
        return self.sandbox.command(cmd, ipc=self.ipc_dir)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        kw["env"] = {"PATH": "/usr/bin:/bin"}
        kw.pop("cwd", None)
        os.chmod(self.connection_file, 0o644)  # the kernel (another uid as root) reads it; nobody writes it
        if self.sandbox.privileged:
            os.chown(self.ipc_dir, self.sandbox.uid, self.sandbox.uid)  # the kernel creates its sockets here
        read, write = os.pipe()
        kw["stdout"] = subprocess.DEVNULL
        kw["stderr"] = write
        try:
            await super()._async_launch_kernel(kernel_cmd, **kw)
        finally:
            os.close(write)
        self.sandbox.log.attach(read)
        process = getattr(self.provisioner, "process", None)
        if process is not None:
            self._watchdog = threading.Thread(target=self._watch, args=(process,), daemon=True)
            self._watchdog.start()

    async def _async_kill_kernel(self, restart: bool = False) -> None:
        process = getattr(self.provisioner, "process", None)
        if process is not None:
            for pid in descendants(process.pid)[1:]:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        self.sandbox.kill_all()
        await super()._async_kill_kernel(restart=restart)

    def _watch(self, process: Any) -> None:
        """Kill the whole sandbox when it holds too many processes, too much memory, or foreign files."""
        lim = self.sandbox.limits
        tick = 0
        while process.poll() is None:
            pids = descendants(process.pid)
            if not self.sandbox.privileged:
                self.sandbox.tracked.update(pids[1:])
            reason, rss = None, 0
            tick += 1
            if len(pids) > lim.max_processes + 2:  # + bwrap's init and the kernel
                reason = f"too many processes in the sandbox ({len(pids)}; limit {lim.max_processes}): killed"
            elif tick % 4 == 0 and sum(statm_rss(p) for p in pids) > lim.total_memory_bytes:
                rss = sum(pss(p) for p in pids)  # resident pages shared after fork count once here
            elif tick % 5 == 0:
                reason = foreign_files(self.ipc_dir)
            if reason is None and rss > lim.total_memory_bytes:
                reason = (f"the sandbox used {rss / 2**30:.1f} GiB of memory "
                          f"(limit {lim.total_memory_bytes / 2**30:.1f} GiB): killed")
            if reason:
                self.sandbox.faults.append(reason)
                for pid in pids[1:]:  # the namespace's init first: that kills everything inside
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
                self.sandbox.kill_all()
                with contextlib.suppress(Exception):
                    os.kill(process.pid, signal.SIGKILL)
                return
            time.sleep(0.1)


def foreign_files(ipc_dir: Any) -> str | None:
    """Why the kernel's socket folder holds something else than its sockets (None: it does not)."""
    try:
        with os.scandir(ipc_dir) as entries:
            for n, entry in enumerate(entries):
                st = entry.stat(follow_symlinks=False)
                sockets_only = entry.name.startswith("kernel-") and stat.S_ISSOCK(st.st_mode)
                connection = entry.name == "kernel.json" and stat.S_ISREG(st.st_mode) and st.st_size < 65536
                if n > 16 or not (sockets_only or connection):
                    return (f"wrote {entry.name!r} into the grader's socket folder "
                            "(only the kernel's sockets belong there): killed")
    except OSError:
        return None
    return None
