"""Day 7's training code under torchrun: two processes on a CPU (gloo) stay in sync and match one process.

Both runs train the practicum's ViT with the notebook's own pipeline (tools/benchmark.py) on the
offline digits, with augmentation and MixUp/CutMix switched on (every process builds the same global
batch and keeps its slice). Stochastic depth is off: it draws its masks per slice, so with it a
two-process run is a different (equally valid) sample than one process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARGS = ["--profile", "quick", "--data", "", "--epochs", "2", "--train-limit", "256", "--test-limit", "128",
        "--batch-size", "64", "--targets", "", "--set",
        json.dumps({"drop_path": 0.0, "augment": "trivialaugment", "mix_prob": 1.0, "vit": {"dim": 32, "depth": 2, "heads": 4,
                                                                                         "mlp_ratio": 2.0}})]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURSE_PRACTICUM_")}
    env.update(CUDA_VISIBLE_DEVICES="", PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    return env


def _run(cmd: list[str], cwd: Path) -> dict:
    proc = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{' '.join(cmd[:6])} ... failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}"
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one JSON line (from the first process only), got {len(lines)}:\n{proc.stdout[:2000]}"
    return json.loads(lines[0])


@pytest.mark.slow
def test_day7_two_processes_stay_in_sync_and_match_one_process(tmp_path: Path) -> None:
    import torch

    bench = str(ROOT / "tools" / "benchmark.py")
    two = _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", bench, *ARGS,
                "--ckpt", str(tmp_path / "ckpt2"), "--root", str(tmp_path / "data"), "--dump-state", str(tmp_path / "ddp")],
               tmp_path)
    one = _run([sys.executable, bench, *ARGS, "--ckpt", str(tmp_path / "ckpt1"), "--root", str(tmp_path / "data"),
                "--dump-state", str(tmp_path / "single")], tmp_path)
    assert two["processes"] == 2 and one["processes"] == 1, (two["processes"], one["processes"])
    assert two["train_images"] == one["train_images"] == 256 and two["epochs"] == one["epochs"] == 2
    rank0 = torch.load(tmp_path / "ddp.rank0", weights_only=True)
    rank1 = torch.load(tmp_path / "ddp.rank1", weights_only=True)
    single = torch.load(tmp_path / "single.rank0", weights_only=True)
    assert set(rank0) == set(rank1) == set(single)
    for name in rank0:  # DDP keeps the copies identical: same initial weights (broadcast), same averaged gradients
        assert torch.equal(rank0[name], rank1[name]), f"the two processes' copies of {name} differ"
    worst = max(float((rank0[k].double() - single[k].double()).abs().max()) for k in rank0)
    assert worst < 1e-4, f"two processes ended {worst:.2e} away from one process on the same global batches"
    for key in ("train_loss", "train_acc", "test_loss", "test_acc"):
        a, b = [h[key] for h in two["history"]], [h[key] for h in one["history"]]
        assert all(abs(x - y) < 1e-3 for x, y in zip(a, b, strict=True)), f"{key}: two processes {a}, one process {b}"
