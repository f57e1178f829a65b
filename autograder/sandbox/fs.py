"""File-system helpers that a hostile tree cannot turn against the grader."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def remove_tree(path: str | Path) -> None:
    """Delete ``path`` and everything under it: never follows a symlink, never recurses.

    Subdirectories are emptied by moving their entries up into ``path`` (renames inside one
    directory tree), so any depth costs two open directories at a time, and a symlink is removed
    as a link. Directories without permissions are opened up first (their owner may be the student).
    """
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        path.unlink()
        return
    with contextlib.suppress(OSError):
        os.chmod(path, 0o700)
    top = os.open(path, _DIR)
    counter = 0
    try:
        while True:
            names = os.listdir(top)
            if not names:
                break
            for name in names:
                st = os.lstat(name, dir_fd=top)
                if not stat.S_ISDIR(st.st_mode):
                    os.unlink(name, dir_fd=top)
                    continue
                with contextlib.suppress(OSError):
                    os.chmod(name, 0o700, dir_fd=top, follow_symlinks=False)
                sub = os.open(name, _DIR, dir_fd=top)
                try:
                    for child in os.listdir(sub):
                        while True:
                            counter += 1
                            target = f".rm{counter}"
                            try:
                                os.lstat(target, dir_fd=top)
                            except FileNotFoundError:
                                break
                        os.rename(child, target, src_dir_fd=sub, dst_dir_fd=top)
                finally:
                    os.close(sub)
                os.rmdir(name, dir_fd=top)
    finally:
        os.close(top)
    os.rmdir(path)
