"""Plain `nbgrader autograde` with the course configuration is sandboxed and judged outside the kernel."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.grading.day1_submissions import CUSTOM_EXC, DAY, dump, notebook

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) is not installed")]


def test_nbgrader_autograde_uses_trusted_verdicts(tmp_path, monkeypatch):
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config, PyFileConfigLoader

    monkeypatch.setenv("PATH", os.pathsep.join((str(Path(sys.executable).parent), os.environ.get("PATH", ""))))
    course = tmp_path / "course"
    (course / "solutions" / DAY).mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / DAY / f"{DAY}.ipynb", course / "solutions" / DAY / f"{DAY}.ipynb")
    wrong_sdpa = "def scaled_dot_product_attention(q, k, v, mask=None):\n    return v, q\n"
    sub = course / "submitted" / "mallory" / DAY / f"{DAY}.ipynb"
    sub.parent.mkdir(parents=True)
    # a wrong attention function, a custom exception handler that hides every failure in the kernel,
    # and a "skip-execution" tag on every cell
    nb = notebook({"scaled_dot_product_attention": wrong_sdpa}, {"setup": [CUSTOM_EXC]})
    for cell in nb["cells"]:
        cell.setdefault("metadata", {})["tags"] = ["skip-execution"]
    sub.write_bytes(dump(nb))
    config = Config()
    config.merge(PyFileConfigLoader("nbgrader_config.py", path=str(ROOT / "autograder")).load_config())
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.db_url = f"sqlite:///{course / 'gradebook.db'}"
    config.Exchange.root = str(course / "exchange")
    config.Execute.timeout = 60
    names = [getattr(p, "__name__", str(p)) for p in config.Autograde.autograde_preprocessors]
    assert names[0] == "SandboxedExecute"
    api = NbGraderAPI(config=config)
    assert api.generate_assignment(DAY, force=True, create=True)["success"]
    result = api.autograde(DAY, "mallory", force=True, create=True)
    assert result["success"], result.get("log")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        s = gb.find_submission(DAY, "mallory")
        scores = {g.name: g.score for g in s.notebooks[0].grades}
        assert s.score == pytest.approx(8), scores  # 12 - the 4 points of scaled_dot_product_attention
        assert scores["test_scaled_dot_product_attention_hidden"] == 0
        assert scores["test_softmax_hidden"] == 2
