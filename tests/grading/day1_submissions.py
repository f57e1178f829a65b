"""Adversarial day1_attention submissions: one per attack or fault, with the exact grade each earns.

Each entry: name -> (expected total score, builder). Builders return the bytes of the file the
student hands in. Day 1 is worth 12 points: softmax 1+2, scaled_dot_product_attention 1+3,
causal_mask 1+1, quiz_1..3 one each (answers C, B, D). A softmax without the max trick also
fails the attention checks (the honest solution's attention calls it on large logits): 12 - 3 - 4 = 5.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DAY = "day1_attention"
RELEASE = ROOT / "assignments" / DAY / f"{DAY}.ipynb"
SOLUTION = ROOT / "solutions" / DAY / f"{DAY}.ipynb"


def _solution_sources() -> dict[str, str]:
    nb = json.loads(SOLUTION.read_text())
    out = {}
    for c in nb["cells"]:
        meta = c.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            src = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            out[meta["grade_id"]] = "".join(line for line in src.splitlines(keepends=True) if "SOLUTION" not in line)
    return out


RIGHT = _solution_sources()
WRONG_SOFTMAX = '''def softmax(x, dim=-1):
    e = x.exp()
    return e / e.sum(dim, keepdim=True)
'''
WRONG_ALL = {
    "softmax": "def softmax(x, dim=-1):\n    return x\n",
    "scaled_dot_product_attention": "def scaled_dot_product_attention(q, k, v, mask=None):\n    return v, q\n",
    "causal_mask": "import torch\ndef causal_mask(n):\n    return torch.ones(n, n, dtype=torch.bool)\n",
    "quiz_1": 'quiz_1 = "A"\n', "quiz_2": 'quiz_2 = "A"\n', "quiz_3": 'quiz_3 = "A"\n',
}


def notebook(solutions: dict[str, str] | None = None, extras: dict[str, list[str]] | None = None) -> dict:
    """The release notebook with solution cells filled in and extra cells after some of them."""
    nb = json.loads(RELEASE.read_text())
    sol = {**RIGHT, **(solutions or {})}
    cells = []
    for c in nb["cells"]:
        meta = c.get("metadata", {}).get("nbgrader", {})
        c = copy.deepcopy(c)
        if meta.get("solution"):
            c["source"] = sol[meta["grade_id"]]
        cells.append(c)
        for n, src in enumerate((extras or {}).get(meta.get("grade_id", ""), [])):
            cells.append({"cell_type": "code", "id": f"extra-{meta['grade_id']}-{n}", "metadata": {},
                          "execution_count": None, "outputs": [], "source": src})
    nb["cells"] = cells
    return nb


def dump(nb: dict) -> bytes:
    return json.dumps(nb, indent=1).encode()


def _lost_metadata() -> bytes:
    nb = notebook()
    for n, c in enumerate(nb["cells"]):
        c["metadata"] = {}
        c["id"] = f"c{n}"
    return dump(nb)


def _duplicate_ids() -> bytes:
    nb = notebook()
    out = []
    for c in nb["cells"]:
        out.append(c)
        gid = c.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
        if gid.startswith("test_") or gid == "setup":
            fake = copy.deepcopy(c)
            fake["source"] = "print('all tests passed')"
            out.append(fake)  # same id and grade_id twice
    nb["cells"] = out
    return dump(nb)


def _deleted_tests() -> bytes:
    nb = notebook()
    nb["cells"] = [c for c in nb["cells"] if not c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    return dump(nb)


def _skip_tags() -> bytes:
    nb = notebook({"softmax": WRONG_SOFTMAX})
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            c["metadata"]["tags"] = ["skip-execution", "raises-exception", "skip"]
    return dump(nb)


MONKEYPATCH = '''
import torch, numpy as np
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.isclose = lambda a, b, *x, **k: torch.ones_like(a, dtype=torch.bool)
np.allclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
torch.Tensor.__eq__ = lambda self, other: torch.ones_like(self, dtype=torch.bool)
'''
BUILTINS = '''
import builtins
class _Never(Exception):
    pass
builtins.AssertionError = _Never
builtins.all = lambda *a, **k: True
builtins.any = lambda *a, **k: False
builtins.abs = lambda x: 0
'''
TRANSFORMER = '''
ip = get_ipython()
def _neuter(lines):
    text = "".join(lines)
    if "check(" in text or "assert" in text:
        return ["print('all hidden checks passed')\\n"]
    return lines
ip.input_transformers_post.append(_neuter)
import ast
class _Drop(ast.NodeTransformer):
    def visit_Assert(self, node):
        return None
ip.ast_transformers.append(_Drop())
'''
EVENT_HOOK = '''
ip = get_ipython()
def _pre(info):
    globals()["quiz_1"], globals()["quiz_2"], globals()["quiz_3"] = "A", "A", "A"
def _post(result):
    result.error_in_exec = None
    result.error_before_exec = None
ip.events.register("pre_run_cell", _pre)
ip.events.register("post_run_cell", _post)
'''
CUSTOM_EXC = '''
ip = get_ipython()
ip.set_custom_exc((BaseException,), lambda shell, etype, evalue, tb, tb_offset=None: print("ok"))
import sys
sys.excepthook = lambda *a: None
'''
EQ_ALWAYS = '''
import torch
class Anything(torch.Tensor):
    def __eq__(self, other):
        return True
    __ne__ = lambda self, other: False
class Yes(str):
    def __eq__(self, other):
        return True
    def __hash__(self):
        return 0
    def strip(self):
        return self
    def upper(self):
        return self
class Blob:
    shape = dtype = property(lambda self: self)
    def __eq__(self, other):
        return True
    def __getattr__(self, name):
        return self
    def __call__(self, *a, **k):
        return self
'''
EQ_SOLUTIONS = {
    "softmax": "def softmax(x, dim=-1):\n    return Blob()\n",
    "scaled_dot_product_attention": "def scaled_dot_product_attention(q, k, v, mask=None):\n    return Blob(), Blob()\n",
    "causal_mask": "def causal_mask(n):\n    return Anything(torch.zeros(n, n))\n",
    "quiz_1": 'quiz_1 = Yes("A")\n', "quiz_2": 'quiz_2 = Yes("A")\n', "quiz_3": 'quiz_3 = Yes("A")\n',
}
FAKE_PRINT = '''
for name in ["softmax", "scaled_dot_product_attention", "causal_mask", "quiz_1", "quiz_2", "quiz_3"]:
    print(f"{name}: all hidden checks passed")
print("Score: 12 / 12")
'''
LOOP_SDPA = RIGHT["scaled_dot_product_attention"].replace(
    "    scores =", "    while q.shape[-1] == 64:  # hangs on one hidden case only\n        pass\n    scores =", 1)
UNKILLABLE = '''import time, torch
def causal_mask(n):
    return torch.ones(n, n, dtype=torch.bool).tril()
while True:
    try:
        time.sleep(0.5)
    except BaseException:
        pass
'''
HUGE_SDPA = '''def scaled_dot_product_attention(q, k, v, mask=None):
    buffer = bytearray(1 << 40)
    return buffer
'''
HUGE_TOP = '''
import torch
try:
    x = torch.empty(1 << 41, dtype=torch.uint8)  # 2 TiB: over the address-space limit
except RuntimeError as exc:
    print("refused:", exc)
y = torch.ones(1 << 29)  # 2 GiB touched: over the sandbox's memory budget, the watchdog kills it
'''
FORK_BOMB = '''
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
'''
OS_EXIT_CAUSAL = '''import os
def causal_mask(n):
    os._exit(3)
'''
SYS_EXIT_SDPA = '''import sys
def scaled_dot_product_attention(q, k, v, mask=None):
    sys.exit("bye")
'''
SEGFAULT = '''
import ctypes
ctypes.string_at(0)
'''
READ_HIDDEN = '''
import glob, os, re
found = {}
paths = glob.glob("{root}/autograder/checks/*.py") + glob.glob("/tmp/*/pkg/autograder/checks/*.py")
paths += glob.glob("{root}/solutions/*/*.ipynb") + ["{root}/autograder/checks/day1_attention.py", "{out}/gradebook.db"]
for p in paths:
    try:
        text = open(p, errors="replace").read()
    except OSError:
        continue
    for q, letter in re.findall(r'quiz\\(\\s*"(quiz_\\d)",\\s*"(\\w)"', text):
        found[q] = letter
quiz_1 = found.get("quiz_1", "A")
quiz_2 = found.get("quiz_2", "A")
quiz_3 = found.get("quiz_3", "A")
'''
WRITE_OTHERS = '''
import os
targets = {targets!r}
for t in targets:
    try:
        with open(t, "w") as fh:
            fh.write("pwned")
    except OSError as exc:
        print("blocked:", type(exc).__name__)
try:
    import sqlite3
    con = sqlite3.connect("{out}/gradebook.db")
    con.execute("update grade set auto_score = 100")
    con.commit()
except Exception as exc:
    print("blocked:", type(exc).__name__)
'''


def cases(root: str, out: str, targets: list[str]) -> dict[str, tuple[float, bytes]]:
    """name -> (expected score out of 12, file bytes)."""
    nb = notebook
    wrong_quiz = {k: v for k, v in WRONG_ALL.items() if k.startswith("quiz")}
    read_hidden = READ_HIDDEN.replace("{root}", root).replace("{out}", out)
    write_others = WRITE_OTHERS.replace("{targets!r}", repr(targets)).replace("{out}", out)
    sys_exit = {"scaled_dot_product_attention": SYS_EXIT_SDPA}
    return {
        "honest_right": (12, dump(nb())),
        "honest_wrong_softmax": (5, dump(nb({"softmax": WRONG_SOFTMAX}))),
        # attacks: wrong code plus a trick; the trick earns nothing
        "attack_monkeypatch": (0, dump(nb(WRONG_ALL, {"setup": [MONKEYPATCH]}))),
        "attack_builtins": (0, dump(nb(WRONG_ALL, {"setup": [BUILTINS]}))),
        "attack_input_transformer": (0, dump(nb(WRONG_ALL, {"setup": [TRANSFORMER]}))),
        "attack_event_hooks": (0, dump(nb(WRONG_ALL, {"setup": [EVENT_HOOK]}))),
        "attack_custom_exception_handler": (0, dump(nb(WRONG_ALL, {"setup": [CUSTOM_EXC]}))),
        "attack_eq_always_true": (0, dump(nb(EQ_SOLUTIONS, {"setup": [EQ_ALWAYS]}))),
        "attack_fake_pass_output": (0, dump(nb(WRONG_ALL, {k: [FAKE_PRINT] for k in WRONG_ALL}))),
        "attack_read_hidden_tests": (9, dump(nb(wrong_quiz, {"quiz_3": [read_hidden]}))),
        "attack_write_other_files": (12, dump(nb(None, {"causal_mask": [write_others]}))),
        # faults: each costs only what it breaks
        "fault_infinite_loop": (8, dump(nb({"scaled_dot_product_attention": LOOP_SDPA}))),
        "fault_ignores_interrupt": (10, dump(nb({"causal_mask": UNKILLABLE}))),
        "fault_huge_allocation": (8, dump(nb({"scaled_dot_product_attention": HUGE_SDPA}, {"softmax": [HUGE_TOP]}))),
        "fault_fork_bomb": (12, dump(nb(None, {"softmax": [FORK_BOMB]}))),
        "fault_os_exit": (10, dump(nb({"causal_mask": OS_EXIT_CAUSAL}))),
        "fault_sys_exit": (8, dump(nb(sys_exit, {"quiz_3": ["import sys\nsys.exit(0)\n"]}))),
        "fault_kernel_crash": (12, dump(nb(None, {"softmax": [SEGFAULT]}))),
        "fault_corrupt_file": (0, b"\x89PNG\r\n\x1a\n\x00\x00garbage{{{"),
        "fault_not_a_notebook": (0, json.dumps({"hello": "world"}).encode()),
        "fault_lost_metadata": (12, _lost_metadata()),
        "fault_duplicate_ids": (12, _duplicate_ids()),
        "fault_deleted_tests": (12, _deleted_tests()),
        "fault_skip_tags": (5, _skip_tags()),
    }
