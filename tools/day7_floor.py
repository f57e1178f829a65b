"""Measure the Day 7 training check: the reference recipe over many seeds, and broken recipes.

    python tools/day7_floor.py                     # 20 seeds of the solution's train_vit + the WRONG variants
    python tools/day7_floor.py --seeds 5 --no-variants

Runs exactly what the hidden check of ``train_vit`` runs (``train_and_report`` + ``heldout_accuracy``
from ``autograder/checks/day7/``, the checks of ``day7_practicum``) with one torch thread, as in the grading sandbox, and
prints one JSON line per run and a summary (min / median / max held-out accuracy, seconds). The
floor ``ACCURACY_FLOOR`` in the checks module is set from this distribution.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def solution_namespace(replace: dict[str, str] | None = None) -> dict:
    """Run the assignment's solution cells (not its tests) in a fresh namespace, as the tests do."""
    import jupytext
    import matplotlib

    matplotlib.use("Agg")
    nb = jupytext.read(ROOT / "sources" / "solutions" / "day7_practicum.py")
    ns: dict = {"__name__": "__main__"}
    for cell in nb.cells:
        marker = cell.metadata.get("nb", "")
        if cell.cell_type != "code" or marker.startswith("test:"):
            continue
        grade_id = marker.split(":")[1] if marker.startswith("solution:") else ""
        exec(compile((replace or {}).get(grade_id, cell.source), f"<day7:{grade_id or 'cell'}>", "exec"), ns)
    return ns


def measure(fn, seed: int) -> dict:
    from autograder.checks.day7.judge_helpers import heldout_accuracy
    from autograder.checks.day7.vit_probes import train_and_report

    wall, cpu = time.perf_counter(), time.process_time()
    data = train_and_report(fn, seed)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    judge_wall = time.perf_counter()
    held, train, failures = heldout_accuracy(data)
    return dict(seed=seed, heldout_acc=held, train_acc=train, train_wall_s=round(wall, 2), train_cpu_s=round(cpu, 2),
                judge_s=round(time.perf_counter() - judge_wall, 2), failures=failures)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--no-variants", action="store_true", help="skip the WRONG/RIGHT train_vit variants")
    args = p.parse_args(argv)
    import contextlib
    import importlib.util

    import torch

    torch.set_num_threads(1)
    with contextlib.redirect_stdout(sys.stderr):
        ns = solution_namespace()
    runs = []
    for seed in range(args.seeds):
        with contextlib.redirect_stdout(sys.stderr):
            run = measure(ns["train_vit"], seed)
        runs.append(run)
        print(json.dumps(dict(kind="solution", **run)), flush=True)
    if runs:
        acc = [r["heldout_acc"] for r in runs]
        secs = [r["train_wall_s"] for r in runs]
        print(json.dumps(dict(kind="summary", seeds=len(runs), acc_min=min(acc), acc_median=statistics.median(acc),
                              acc_max=max(acc), wall_s_min=min(secs), wall_s_median=statistics.median(secs),
                              wall_s_max=max(secs), cpu_s_median=statistics.median(r["train_cpu_s"] for r in runs))), flush=True)
    if not args.no_variants:
        spec = importlib.util.spec_from_file_location("variants", ROOT / "tests" / "variants" / "day7_practicum.py")
        variants = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(variants)
        for kind in ("WRONG", "RIGHT"):
            for name, source in getattr(variants, kind).get("train_vit", {}).items():
                with contextlib.redirect_stdout(sys.stderr):
                    run = measure(solution_namespace({"train_vit": source})["train_vit"], 0)
                print(json.dumps(dict(kind=kind, variant=name, **run)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
