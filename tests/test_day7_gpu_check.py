"""`python3 manage.py gpu-check` end to end in its reduced CPU mode: every step runs, one JSON file comes out.

The GPU figures themselves need a GPU; this checks the command a GPU session will run: the four
throughput runs (t4/full x compile off/on, compilation disabled on the CPU), the short accuracy run,
the computed time to target, the JSON file and the Markdown summary.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@pytest.mark.slow
def test_day7_gpu_check_reduced_mode_writes_one_json(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURSE_PRACTICUM_")}
    env.update(CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS="1")
    out = tmp_path / "measurements"
    proc = subprocess.run([sys.executable, str(ROOT / "manage.py"), "gpu-check", "--reduced", "--out", str(out),
                           "--root", str(tmp_path / "data")], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, f"gpu-check failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}"
    files = list(out.glob("gpu-check-*-reduced-*.json"))
    assert len(files) == 1, f"expected one JSON file, found {files}"
    report = json.loads(files[0].read_text())
    assert report["reduced"] is True and report["skipped"] == []
    steps = {(r["profile"], r["compile_requested"]) for r in report["runs"]}
    assert steps == {("t4", False), ("t4", True), ("full", False), ("full", True)}, steps
    for r in report["runs"]:
        assert "error" not in r, r.get("error")
        assert r["images_per_s"] > 0 and r["s_per_epoch_at_50k"] > 0 and r["extrapolated_to_50k"] is True
        assert r["device"].startswith("cpu") and r["peak_memory_mb"] > 0
    assert report["accuracy"] and 0.0 <= report["accuracy"]["final_test_acc"] <= 1.0
    assert "OFFLINE FALLBACK" in report["accuracy"]["data"], report["accuracy"]["data"]
    for profile in ("t4", "full"):
        c = report["computed"][profile]
        assert abs(c["time_to_target_min"] - c["best_s_per_epoch"] * c["epochs"] / 60) < 0.05, c
        assert "computed" in c["note"] and "extrapolated" in c["note"]
    assert "Measured by `python3 manage.py gpu-check`" in proc.stdout and "| t4 |" in proc.stdout


def test_day7_gpu_check_epochs_and_targets_match_the_notebook() -> None:
    import tools.gpu_check as gc
    from tools.benchmark import pipeline_cells

    ns: dict = {}
    exec(pipeline_cells()[0], ns)  # the switches cell: PROFILES and TARGETS, nothing heavy
    assert gc.EPOCHS == {p: ns["PROFILES"][p]["epochs"] for p in ("t4", "full")}
    assert gc.TARGETS == {p: ns["TARGETS"][p] for p in ("t4", "full")}
