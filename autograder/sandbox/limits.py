"""The limits one graded notebook runs under (set from traitlets by :class:`SandboxedExecute`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


class SandboxError(RuntimeError):
    """The sandbox cannot be set up: grading must stop (never run unsandboxed)."""


@dataclass
class Limits:
    """Resource limits for one graded notebook. Plain data, so it travels to worker processes.

    The defaults are the course's; ``autograder/nbgrader_config.py`` and the command line set them
    (``SandboxedExecute.limits()``), nothing reads the environment.
    """

    cell_timeout: float = 120.0  # seconds per cell (nbgrader's Execute.timeout)
    notebook_timeout: float = 900.0  # seconds for the whole notebook
    interrupt_grace: float = 5.0  # after the interrupt, before the kill
    memory_bytes: int = 16 * 2**30  # RLIMIT_AS per process (CUDA-enabled torch maps ~4 GiB at import)
    total_memory_bytes: int = 8 * 2**30  # the watchdog's limit on the sandbox's resident memory
    max_processes: int = 24  # the watchdog's limit on processes (not threads)
    max_tasks: int = 160  # RLIMIT_NPROC (threads count too)
    file_size: int = 512 * 2**20  # RLIMIT_FSIZE
    open_files: int = 1024  # RLIMIT_NOFILE
    scratch_bytes: int = 256 * 2**20  # each of home/, /tmp and /dev/shm (size-limited tmpfs)
    max_restarts: int = 4  # kernel restarts after a crash or kill
    output_bytes: int = 200_000  # outputs kept per cell
    notebook_output_bytes: int = 2_000_000  # outputs kept per notebook
    kernel_message_bytes: int = 32 * 2**20  # largest Jupyter message accepted from the kernel
    message_bytes: int = 8 * 2**20  # largest probe report accepted by the judge
    threads: int = 1  # OMP/MKL/torch intra-op threads (parallel workers share the cores)
    bwrap: str = ""  # path to bubblewrap ("" = the one on PATH)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
