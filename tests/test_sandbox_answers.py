"""Nothing in the sandbox can compute an answer (class 4), and a day's sandbox interface works.

* For every day: build the day's sandbox copy of ``autograder`` (what a student's kernel can
  import), offer every callable it holds to every exercise's probe there, and judge each result
  on the trusted side: every one must fail.
* A small fake day (written here) uses ``SANDBOX_FILES`` (data the probes read), ``SANDBOX_HIDE``
  (installed files masked in the sandbox) and ``NBGRADER_EXECUTION``; its notebook is graded in
  a real sandbox.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import registry  # noqa: E402
from autograder.sandbox import Limits, Sandbox, decode_plain, execute_notebook, sandbox_sources  # noqa: E402

DAYS = sorted(p.stem for p in (ROOT / "autograder" / "checks").glob("day*.py"))
OFFER = ROOT / "tests" / "grading" / "offer_everything.py"


def _normalised(value):
    """Probe data with error texts and object names blanked: equal results judge the same."""
    if isinstance(value, dict):
        if "__error__" in value:
            return {"__error__": "E"}
        if "__object__" in value:
            return {"__object__": "O"}
        return {k: _normalised(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalised(v) for v in value]
    return value


def _copy(day: str, pkg: Path) -> None:
    for rel, text in sandbox_sources(day).items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text(text, encoding="utf-8")
    (pkg / "autograder" / "__init__.py").write_text("")
    shutil.copy(ROOT / "autograder" / "sandbox" / "wire.py", pkg / "autograder" / "wire.py")
    module = __import__(f"autograder.checks.{day}", fromlist=["REGISTRY"])
    for name in getattr(module, "SANDBOX_FILES", ()):
        (pkg / "autograder" / "data").mkdir(exist_ok=True)
        shutil.copy(ROOT / "autograder" / "data" / name, pkg / "autograder" / "data" / name)


@pytest.mark.slow
@pytest.mark.parametrize("day", DAYS)
def test_no_callable_in_the_sandbox_passes_a_judge(day, tmp_path):
    pkg, out = tmp_path / "pkg", tmp_path / "offered.jsonl"
    _copy(day, pkg)
    env = {"PATH": os.environ.get("PATH", "/usr/bin"), "PYTHONPATH": str(pkg), "OMP_NUM_THREADS": "1", "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, str(OFFER), day, str(out)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    reg = registry(day)
    verdicts: dict[tuple[str, str], list[str]] = {}
    passing, offered = [], set()
    for line in out.read_text().splitlines():
        rec = json.loads(line)
        offered.add(rec["callable"])
        key = (rec["exercise"], json.dumps(_normalised(rec["data"]), sort_keys=True))
        if key not in verdicts:
            verdicts[key] = reg.judge(rec["exercise"], decode_plain(rec["data"]))
        if not verdicts[key]:
            passing.append(f"{rec['callable']} passes {rec['exercise']}")
    assert len(offered) >= 10 and {e for e, _ in verdicts} == set(reg.exercises)
    assert not passing, "the sandbox copy computes answers:\n" + "\n".join(passing)


# ---------------------------------------------------------------------------- a fake day in a real sandbox
FAKE_CHECKS = '''
"""A fake day: one exercise whose probe reads a data file and tries to read a hidden one."""
import os
from pathlib import Path

from autograder.harness import Judge, Registry, attempt

REGISTRY = Registry("day0_fake")
SANDBOX_FILES = ("numbers.txt",)
SANDBOX_HIDE = ({hidden!r},)


def probe_total(fn):
    data = Path(__file__).resolve().parent.parent / "data" / "numbers.txt"
    numbers = [int(x) for x in data.read_text().split()]
    import sklearn
    target = Path(sklearn.__file__).resolve().parent.parent / {hidden!r}
    return {{"total": attempt(fn, numbers), "hidden_size": len(target.read_bytes()),
            "mode": os.environ.get("NBGRADER_EXECUTION", "")}}


@REGISTRY.exercise("total", probe_total)
def judge_total(data, j: Judge) -> None:
    j.expect_number(data["total"], 42, "total of the numbers file")
    j.expect(data["hidden_size"] == 0, f"the hidden file is readable ({{data['hidden_size']}} bytes)")
    j.expect(data["mode"] == "autograde", f"NBGRADER_EXECUTION is {{data['mode']!r}}")
'''
HIDDEN = "sklearn/datasets/data/digits.csv.gz"


def _fake_day(tmp_path: Path) -> str:
    pkg = tmp_path / "fakecourse"
    (pkg / "checks").mkdir(parents=True)
    (pkg / "data").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "checks" / "__init__.py").write_text("")
    (pkg / "checks" / "day0_fake.py").write_text(textwrap.dedent(FAKE_CHECKS.format(hidden=HIDDEN)))
    (pkg / "data" / "numbers.txt").write_text("10 20 12\n")
    sys.path.insert(0, str(tmp_path))
    return "fakecourse.checks.day0_fake"


def _notebook(answer: str) -> nbformat.NotebookNode:
    hidden = nbformat.v4.new_code_cell("### BEGIN HIDDEN TESTS\nfrom autograder import check\n"
                                       "check('day0_fake', 'total', total)\n### END HIDDEN TESTS")
    hidden.metadata["nbgrader"] = {"grade": True, "grade_id": "test_total_hidden", "points": 2, "solution": False,
                                   "locked": True}
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(answer), hidden])


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) is not installed")
def test_fake_day_reads_its_files_hides_installed_ones_and_knows_it_is_graded(tmp_path):
    import sklearn

    assert (Path(sklearn.__file__).resolve().parent.parent / HIDDEN).stat().st_size > 0
    module = _fake_day(tmp_path)
    limits = Limits(cell_timeout=60, notebook_timeout=300)
    try:
        for answer, expected in (("total = sum", []), ("total = len", ["total of the numbers file"])):
            with Sandbox("day0_fake", limits, checks_module=module) as sandbox:
                assert (sandbox.pkg / "autograder" / "data" / "numbers.txt").read_text() == "10 20 12\n"
                nb = _notebook(answer)
                execute_notebook(nb, sandbox, replayable={0})
                failures = sandbox.verdicts.get("total")
                assert failures is not None, sandbox.log.text[-2000:]
                assert [f.split(" is ")[0] for f in failures] == expected, failures
    finally:
        sys.path.remove(str(tmp_path))
