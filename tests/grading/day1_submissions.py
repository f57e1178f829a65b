"""Adversarial day1_attention submissions: one per attack or fault, with the exact grade each earns.

:func:`cases` maps a name to (expected score, file bytes). Expected scores are derived from the
notebook's own points (:data:`POINTS`, per exercise): full marks minus the exercises the
submission must lose, so they survive new exercises. A softmax without the max trick also fails
the attention checks (the solution's attention calls it on large logits).

:data:`CLASSES` names, for each hole of issue 15, the submissions that prove it closed:
1 probe data trusted, 2 the first report wins, 3 nbgrader reads student outputs, 4 answers in the
sandbox, 5 rules checked in-process, 6 denial of service, 7 grader files in the student's reach,
8 student HTML/JS reaching the instructor.
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


def _points() -> dict[str, float]:
    """Points per exercise: every graded cell test_<exercise>[_...] of the solution notebook."""
    nb = json.loads(SOLUTION.read_text())
    names = list(RIGHT)
    points: dict[str, float] = {}
    for c in nb["cells"]:
        meta = c.get("metadata", {}).get("nbgrader", {})
        gid = meta.get("grade_id", "")
        if meta.get("grade") and gid.startswith("test_"):
            ex = max((n for n in names if gid == f"test_{n}" or gid.startswith(f"test_{n}_")), key=len)
            points[ex] = points.get(ex, 0.0) + float(meta.get("points", 0))
    return points


def _written_points() -> float:
    """Points of the answers people grade (Markdown answer cells): in nbgrader's maximum, never autograded."""
    nb = json.loads(SOLUTION.read_text())
    return sum(float(c["metadata"]["nbgrader"].get("points", 0)) for c in nb["cells"]
               if c["cell_type"] == "markdown" and c.get("metadata", {}).get("nbgrader", {}).get("grade"))


RIGHT = _solution_sources()
POINTS = _points()
TOTAL = sum(POINTS.values())
WRITTEN_POINTS = _written_points()


def score_without(*lost: str) -> float:
    """Full marks minus the points of the exercises ``lost`` (every exercise: ``*POINTS``)."""
    assert set(lost) <= set(POINTS), f"unknown exercises {set(lost) - set(POINTS)}"
    return TOTAL - sum(POINTS[e] for e in set(lost))
WRONG_SOFTMAX = '''def softmax(x, dim=-1):
    e = x.exp()
    return e / e.sum(dim, keepdim=True)
'''
WRONG_CAUSAL = "import torch\ndef causal_mask(n):\n    return torch.ones(n, n, dtype=torch.bool)\n"
WRONG_ALL = {  # every exercise wrong (one added later keeps the release's stub: wrong too)
    **{gid: "# YOUR CODE HERE\nraise NotImplementedError()\n" for gid in RIGHT},
    "softmax": "def softmax(x, dim=-1):\n    return x\n",
    "scaled_dot_product_attention": "def scaled_dot_product_attention(q, k, v, mask=None):\n    return v, q\n",
    "causal_mask": WRONG_CAUSAL,
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
for name in ["softmax", "scaled_dot_product_attention", "causal_mask", "padded_attention", "quiz_1", "quiz_2",
             "quiz_3", "quiz_4"]:
    print(f"{name}: all hidden checks passed")
print("Score: 17 / 17")
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


# ---------------------------------------------------------------------------- issue 15, class by class
# 1. Probe data trusted: the cell replaces the sandbox's causal_mask probe by one that reports
#    tensor records whose data is empty (shape (0, n, n)) under the declared shape (n, n). The old
#    judge compared with broadcasting, and an empty array "matched" everything.
HOLLOW = """
import autograder
import numpy as np

_reg = autograder.registry()

def _hollow(value):
    if isinstance(value, dict) and value.get("__tensor__"):
        return dict(value, data=np.zeros((0, *value["shape"]), dtype=value["data"].dtype))
    if isinstance(value, dict):
        return {k: _hollow(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_hollow(v) for v in value]
    return value

_ex = _reg.exercises["causal_mask"]
_reg.exercises["causal_mask"] = type(_ex)("causal_mask", lambda fn, p=_ex.probe: _hollow(p(fn)), _ex.judge)
"""
# 2. The first report wins: a cell reports correct probe data for causal_mask long before its
#    hidden cell runs, and a thread keeps re-sending it with whatever key the kernel holds.
EARLY = """
import threading, time, torch
import autograder
from autograder.wire import report

_good = autograder.registry().probe("causal_mask", lambda n: torch.ones(n, n, dtype=torch.bool).tril())
_sock = autograder._CONFIG["socket"]
print([report(_sock, "", "causal_mask", _good) for _ in range(3)])

def _race():
    while True:
        try:
            if autograder._token:
                report(_sock, autograder._token, "causal_mask", _good)
        except Exception:
            pass
        time.sleep(0.002)

threading.Thread(target=_race, daemon=True).start()
"""
# 3. nbgrader reads the student's outputs: every statement is displayed and one is put first,
#    errors are swallowed, so each test cell shows an execute_result ("full marks") before the
#    grader's verdict; nbgrader took that as partial credit (a non-number: full marks).
PARTIAL_CREDIT = """
import ast
ip = get_ipython()
ip.ast_node_interactivity = "all"
ip.set_custom_exc((BaseException,), lambda shell, etype, evalue, tb, tb_offset=None: None)

class _FirstSay(ast.NodeTransformer):
    def visit_Module(self, node):
        node.body.insert(0, ast.Expr(ast.Constant("full marks")))
        return ast.fix_missing_locations(node)

ip.ast_transformers.append(_FirstSay())
"""
# 4. Answers in the sandbox: causal_mask is whatever callable of the sandbox's autograder
#    package behaves like one (the sandbox holds none, so a wrong fallback remains).
SCAVENGE = """
import importlib, pkgutil, torch
import autograder

_mods = [autograder] + [importlib.import_module(m.name) for m in pkgutil.walk_packages(autograder.__path__, "autograder.")]
_found = None
for _m in _mods:
    for _n in dir(_m):
        _f = getattr(_m, _n, None)
        if not callable(_f) or _n in ("check", "report", "_arm") or isinstance(_f, type(torch)):
            continue
        try:
            if torch.equal(_f(4), torch.ones(4, 4, dtype=torch.bool).tril()):
                _found = _f
                break
        except Exception:
            pass
    if _found:
        break
print("found", _found)
causal_mask = _found or (lambda n: torch.ones(n, n, dtype=torch.bool))
"""
# 5. Rules checked in-process: torch's softmax, reached through an alias taken before any
#    recorder exists (and under a name no scan of the text can see) ...
ALIAS_SETUP = """
import torch
_sm = getattr(torch, "soft" + "max")
"""
ALIAS_SOFTMAX = "def softmax(x, dim=-1):\n    return _sm(x, dim)\n"
# ... or with torch's dispatch modes switched off around it (the static scan sees it).
ESCAPE_SOFTMAX = """
import torch
from torch.utils._python_dispatch import _disable_current_modes

def softmax(x, dim=-1):
    with _disable_current_modes():
        return torch.softmax(x, dim)
"""
# 6. Denial of service, each in an extra cell of an otherwise right notebook.
DISPLAY_FLOOD = """
from IPython.display import display
import ipywidgets
h = display("start", display_id=True)
for i in range(40):
    h.update("x" * 4_000_000)
boxes = [ipywidgets.Textarea(value="y" * 2_000_000) for _ in range(8)]
display(*boxes)
print("\\x1b[31m" + "\\x1b[1mz\\x1b[0m" * 20_000)
"""
HUGE_OUTPUT = """
import sys
for i in range(40):  # 40 MB: 20 times what a notebook may keep
    sys.stdout.write("x" * 1_000_000 + "\\n")
raise ValueError("e" * 5_000_000)
"""
JUDGE_FLOOD = """
import json, socket, struct, threading, time
import autograder

_path = autograder._CONFIG["socket"]

def _hammer(hold):
    while True:
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(_path)
            if hold:
                time.sleep(3)  # a connection that never says anything
            else:
                s.sendall(struct.pack(">Q", 1 << 40) + b"{" * 65536)  # a header that claims a terabyte
            s.close()
            s = socket.socket(socket.AF_UNIX)
            s.connect(_path)
            head = json.dumps({"token": "guess", "exercise": "causal_mask"}).encode()
            s.sendall(struct.pack(">Q", len(head)) + head + struct.pack(">Q", 1 << 33) + b"[" * (1 << 20))
            s.close()
        except OSError:
            time.sleep(0.01)

for _i in range(6):
    threading.Thread(target=_hammer, args=(_i == 0,), daemon=True).start()
"""
DISK_FILL = """
import os, ipykernel
for d in (".", "/tmp", "/dev/shm"):
    try:
        with open(os.path.join(d, "fill.bin"), "wb") as fh:
            while True:
                fh.write(b"\\0" * (1 << 22))
    except OSError as exc:
        print(d, "is full:", exc.strerror)
home = os.getcwd()
os.chdir(os.path.dirname(ipykernel.get_connection_file()))  # the one folder shared with the grader
for i in range(3000):  # a tree deeper than any recursive cleanup can follow
    os.mkdir("d")
    os.chdir("d")
with open("fill.bin", "wb") as fh:
    while True:
        fh.write(b"\\0" * (1 << 22))
"""
# 7. Grader files in the student's reach: links and FIFOs named like grader files, planted
#    everywhere the kernel can write, then a crash so that the grader starts a new kernel.
PLANT = """
import os, ipykernel
d = os.path.dirname(ipykernel.get_connection_file())
for where in (d, os.path.join(d, ".."), os.path.join(d, "..", "judge"), os.getcwd(), "/tmp"):
    for name in ("kernel.log", "audit.log", "kernel.json", "kernel.json.tmp", "connection.json", "judge.sock"):
        try:
            os.symlink("{victim}", os.path.join(where, name + ".x"))
            os.symlink("{victim}", os.path.join(where, name))
        except OSError:
            pass
    try:
        os.mkfifo(os.path.join(where, "kernel.log.fifo"))
    except OSError:
        pass
try:
    os.unlink(os.path.join(d, "kernel.json"))
    os.symlink("{victim}", os.path.join(d, "kernel.json"))
except OSError:
    pass
os._exit(1)
"""
# 8. Student HTML and JavaScript: every rich output a browser would run.
SCRIPTS = """
from IPython.display import HTML, Javascript, SVG, Markdown, display
display(HTML("<script>alert('owned-html')</script><img src=x onerror=alert('owned-img')>"))
display(Javascript("alert('owned-js')"))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'))
display(Markdown("<script>alert('owned-md')</script>"))
display({"application/vnd.jupyter.widget-view+json": {"model_id": "x", "version_major": 2, "version_minor": 0},
         "text/html": "<script>alert('owned-widget')</script>"}, raw=True)
print("<script>alert('owned-print')</script>")
"""
SCRIPT_MARKDOWN = "# My notes\n<script>alert('owned-markdown')</script>\n<img src=x onerror=alert('owned-md-img')>"
CLASSES = {
    1: ["attack_hollow_records"],
    2: ["attack_early_report"],
    3: ["attack_partial_credit_output"],
    4: ["attack_sandbox_answers"],
    5: ["attack_softmax_alias", "attack_softmax_escape"],
    6: ["dos_display_flood", "dos_huge_output", "dos_judge_flood", "dos_disk_fill", "dos_huge_file"],
    7: ["attack_plant_links"],
    8: ["attack_html_js"],
}


def _with_markdown(nb: dict, after: str, source: str) -> dict:
    """``nb`` with a student-written Markdown cell after the cell whose grade id is ``after``."""
    out = []
    for c in nb["cells"]:
        out.append(c)
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == after:
            out.append({"cell_type": "markdown", "id": "student-notes", "metadata": {}, "source": source})
    nb["cells"] = out
    return nb


def adversarial(victim: str) -> dict[str, tuple[float, bytes]]:
    """Issue 15's adversarial set (see :data:`CLASSES`): name -> (expected score, file bytes)."""
    nb = notebook
    big = notebook()
    big["cells"].append({"cell_type": "markdown", "id": "big", "metadata": {}, "source": "x" * (65 * 2**20)})
    return {
        "attack_hollow_records": (score_without("causal_mask"), dump(nb({"causal_mask": WRONG_CAUSAL}, {"setup": [HOLLOW]}))),
        "attack_early_report": (score_without("causal_mask"), dump(nb({"causal_mask": WRONG_CAUSAL}, {"setup": [EARLY]}))),
        "attack_partial_credit_output": (score_without(*POINTS), dump(nb(WRONG_ALL, {"setup": [PARTIAL_CREDIT]}))),
        "attack_sandbox_answers": (score_without("causal_mask"), dump(nb({"causal_mask": SCAVENGE}))),
        "attack_softmax_alias": (score_without("softmax"), dump(nb({"softmax": ALIAS_SOFTMAX}, {"setup": [ALIAS_SETUP]}))),
        "attack_softmax_escape": (score_without("softmax"), dump(nb({"softmax": ESCAPE_SOFTMAX}))),
        "dos_display_flood": (TOTAL, dump(nb(None, {"softmax": [DISPLAY_FLOOD]}))),
        "dos_huge_output": (TOTAL, dump(nb(None, {"softmax": [HUGE_OUTPUT]}))),
        "dos_judge_flood": (TOTAL, dump(nb(None, {"setup": [JUDGE_FLOOD]}))),
        "dos_disk_fill": (TOTAL, dump(nb(None, {"softmax": [DISK_FILL]}))),
        "dos_huge_file": (0.0, dump(big)),
        "attack_plant_links": (TOTAL, dump(nb(None, {"causal_mask": [PLANT.replace("{victim}", victim)]}))),
        "attack_html_js": (TOTAL, dump(_with_markdown(nb(None, {"softmax": [SCRIPTS]}), "setup", SCRIPT_MARKDOWN))),
    }


def cases(root: str, out: str, targets: list[str], victim: str = "/nonexistent") -> dict[str, tuple[float, bytes]]:
    """name -> (expected score, file bytes): the attacks and faults of issue 8, then issue 15's set."""
    nb = notebook
    wrong_quiz = {k: v for k, v in WRONG_ALL.items() if k.startswith("quiz")}
    read_hidden = READ_HIDDEN.replace("{root}", root).replace("{out}", out)
    write_others = WRITE_OTHERS.replace("{targets!r}", repr(targets)).replace("{out}", out)
    sys_exit = {"scaled_dot_product_attention": SYS_EXIT_SDPA}
    every = tuple(POINTS)
    sdpa = "scaled_dot_product_attention"
    sdpa_users = (sdpa, "padded_attention")  # the solution's padded_attention calls scaled_dot_product_attention
    return {
        "honest_right": (TOTAL, dump(nb())),
        "honest_wrong_softmax": (score_without("softmax", sdpa), dump(nb({"softmax": WRONG_SOFTMAX}))),
        # attacks: wrong code plus a trick; the trick earns nothing
        "attack_monkeypatch": (score_without(*every), dump(nb(WRONG_ALL, {"setup": [MONKEYPATCH]}))),
        "attack_builtins": (score_without(*every), dump(nb(WRONG_ALL, {"setup": [BUILTINS]}))),
        "attack_input_transformer": (score_without(*every), dump(nb(WRONG_ALL, {"setup": [TRANSFORMER]}))),
        "attack_event_hooks": (score_without(*every), dump(nb(WRONG_ALL, {"setup": [EVENT_HOOK]}))),
        "attack_custom_exception_handler": (score_without(*every), dump(nb(WRONG_ALL, {"setup": [CUSTOM_EXC]}))),
        "attack_eq_always_true": (score_without(*EQ_SOLUTIONS, "padded_attention"),
                                  dump(nb(EQ_SOLUTIONS, {"setup": [EQ_ALWAYS]}))),
        "attack_fake_pass_output": (score_without(*every), dump(nb(WRONG_ALL, {k: [FAKE_PRINT] for k in RIGHT}))),
        "attack_read_hidden_tests": (score_without(*wrong_quiz), dump(nb(wrong_quiz, {"quiz_3": [read_hidden]}))),
        "attack_write_other_files": (TOTAL, dump(nb(None, {"causal_mask": [write_others]}))),
        # faults: each costs only what it breaks
        "fault_infinite_loop": (score_without(sdpa), dump(nb({sdpa: LOOP_SDPA}))),
        "fault_ignores_interrupt": (score_without("causal_mask"), dump(nb({"causal_mask": UNKILLABLE}))),
        "fault_huge_allocation": (score_without(*sdpa_users), dump(nb({sdpa: HUGE_SDPA}, {"softmax": [HUGE_TOP]}))),
        "fault_fork_bomb": (TOTAL, dump(nb(None, {"softmax": [FORK_BOMB]}))),
        "fault_os_exit": (score_without("causal_mask"), dump(nb({"causal_mask": OS_EXIT_CAUSAL}))),
        "fault_sys_exit": (score_without(*sdpa_users), dump(nb(sys_exit, {"quiz_3": ["import sys\nsys.exit(0)\n"]}))),
        "fault_kernel_crash": (TOTAL, dump(nb(None, {"softmax": [SEGFAULT]}))),
        "fault_corrupt_file": (0.0, b"\x89PNG\r\n\x1a\n\x00\x00garbage{{{"),
        "fault_not_a_notebook": (0.0, json.dumps({"hello": "world"}).encode()),
        "fault_lost_metadata": (TOTAL, _lost_metadata()),
        "fault_duplicate_ids": (TOTAL, _duplicate_ids()),
        "fault_deleted_tests": (TOTAL, _deleted_tests()),
        "fault_skip_tags": (score_without("softmax", sdpa), _skip_tags()),
        **adversarial(victim),
    }
