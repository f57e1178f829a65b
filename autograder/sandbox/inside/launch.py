"""The sandboxed kernel's entry point: limits, audit hook, heavy imports, then ipykernel."""

import json
import os
import resource
import sys

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "sandbox.json")) as _fh:
    CONFIG = json.load(_fh)
for _name, _value in CONFIG["rlimits"].items():
    resource.setrlimit(getattr(resource, _name), (_value, _value))

# The kernel's stderr is a pipe the grader reads (bounded). ipykernel later points fd 2 at the
# notebook, so keep a copy of the original for the audit lines.
_LOG = os.dup(2)
_ALLOWED = tuple(CONFIG["allowed"])
_PYTHON = tuple(CONFIG["python"])
_FORBIDDEN = tuple(CONFIG["forbidden"])  # the course itself, flagged even where /tmp counts as scratch
_MARK = CONFIG["audit_mark"]
_EVENTS = {"open", "os.listdir", "os.scandir", "glob.glob", "os.remove", "os.rename", "os.rmdir", "shutil.rmtree",
           "os.mkdir", "os.chmod", "os.symlink", "os.link"}


def _hook(event, args, _abspath=os.path.abspath, _fsdecode=os.fsdecode, _write=os.write):
    if event in _EVENTS and args and isinstance(args[0], (str, bytes, os.PathLike)):
        try:
            path = _abspath(_fsdecode(args[0]))
        except Exception:
            return
        where = path + "/"
        if not where.startswith(_ALLOWED) or (where.startswith(_FORBIDDEN) and not where.startswith(_PYTHON)):
            line = _MARK + event + " " + path.replace("\n", " ")[:300] + "\n"
            try:
                _write(_LOG, line.encode("utf-8", "replace"))
            except OSError:
                pass


sys.addaudithook(_hook)
try:  # the heavy imports happen before the first cell, so they never count against a cell's time
    import numpy  # noqa: F401
    import torch  # noqa: F401
except Exception:
    pass
sys.argv = ["ipykernel_launcher", *sys.argv[1:]]
import runpy  # noqa: E402

runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
