"""The prepared GPU check of the Day 7 practicum: one command, no network, one JSON file.

    python3 manage.py gpu-check                 # on a machine with a GPU (under 8 minutes on one H100/H200)
    python3 manage.py gpu-check --reduced       # the same steps, tiny, on any CPU (the test suite runs this)
    python tools/gpu_check.py --out DIR         # the same, writing DIR/gpu-check-<gpu>-<date>.json

It runs ``tools/benchmark.py`` (the notebook's own training code) in a fresh process per measurement:

1. **Throughput** of the ``t4`` and ``full`` profiles' ViT at CIFAR-10's size (50,000 training images:
   CIFAR-10 when it is on disk under ``--root``, else synthetic pixels of the same shape), with and
   without ``torch.compile``: images/s and s/epoch of the second epoch (the first includes
   compilation and warm-up, reported separately), and the peak CUDA memory.
2. **Accuracy after a short run** on the real images it has: CIFAR-10 when on disk, else
   scikit-learn's digits (the notebook's offline fallback).
3. For each profile, the **time to its target** computed as the best measured s/epoch x the
   profile's epochs (labelled as computed: the accuracy target itself is a published figure).

It writes one JSON file (default ``docs/measurements/``) and prints a Markdown summary to paste into
the README and the values for the lesson's ``GPU_MEASURED``. A step that would overrun the time
budget is skipped and recorded as skipped. ``--reduced`` (automatic without CUDA) runs the same
steps with a one-block ViT on 64 of the offline digits, extrapolates s/epoch to 50,000 (labelled; a
reduced figure says nothing about the profiles' speed), and disables compilation
(``TORCHDYNAMO_DISABLE=1``, so the ``compile=yes`` path runs without the minutes a CPU compile takes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARK = ROOT / "tools" / "benchmark.py"
CIFAR_TRAIN = 50_000
EPOCHS = {"t4": 60, "full": 100}  # the profiles' epochs (checked against the notebook below)
TARGETS = {"t4": 0.90, "full": 0.93}
# --reduced: 64 training images, a one-block ViT of width 32 (the profile's recipe otherwise)
REDUCED = ["--train-limit", "64", "--test-limit", "32", "--batch-size", "32",
           "--set", json.dumps({"vit": {"dim": 32, "depth": 1, "heads": 2, "mlp_ratio": 2.0}, "aug_groups": 2})]


def log(message: str) -> None:
    print(f"[gpu-check] {message}", file=sys.stderr, flush=True)


def gpu_info() -> dict:
    import torch

    info = dict(torch=torch.__version__, cuda=torch.version.cuda, python=platform.python_version(), host=platform.node(),
                cuda_available=torch.cuda.is_available())
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info.update(gpu=torch.cuda.get_device_name(0), gpu_count=torch.cuda.device_count(),
                    gpu_memory_gb=round(props.total_memory / 2**30, 1), capability=f"{props.major}.{props.minor}")
    else:
        info.update(gpu=None, cpu=platform.processor() or platform.machine(), threads=torch.get_num_threads())
    return info


def cifar_on_disk(root: Path) -> bool:
    return (root / "cifar-10-batches-py" / "data_batch_1").is_file()


def benchmark(args: list[str], timeout: float, env: dict[str, str]) -> dict:
    """Run tools/benchmark.py in a fresh process; its JSON line, or an error record."""
    cmd = [sys.executable, str(BENCHMARK), *args]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return dict(error=f"timed out after {timeout:.0f} s", args=args)
    wall = round(time.perf_counter() - start, 1)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return dict(error=f"exit {proc.returncode}: {proc.stderr.strip()[-1500:]}", args=args, wall_s=wall)
    result = json.loads(lines[-1])
    result.pop("history", None)
    result.update(args=args, process_wall_s=wall, compile_log=_compile_note(proc.stderr))
    return result


def _compile_note(stderr: str) -> str | None:
    match = re.search(r"torch\.compile failed \(([^)]*)\)", stderr)
    return f"torch.compile failed: {match.group(1)}" if match else None


def main(argv: list[str] | None = None) -> int:
    import torch

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reduced", action="store_true", help="tiny sizes (automatic without a GPU)")
    p.add_argument("--out", default=str(ROOT / "docs" / "measurements"), help="folder for the JSON file")
    p.add_argument("--root", default=str(ROOT / "data"), help="where CIFAR-10 may be (never downloaded)")
    p.add_argument("--budget-s", type=float, default=450.0, help="stop starting new steps after this many seconds")
    p.add_argument("--accuracy-epochs", type=int, default=None, help="epochs of the short accuracy run")
    args = p.parse_args(argv)
    reduced = args.reduced or not torch.cuda.is_available()
    if reduced and not args.reduced:
        log("no CUDA GPU found: running the reduced CPU mode (tiny sizes; no GPU figures)")
    started = time.perf_counter()
    root = Path(args.root)
    have_cifar = cifar_on_disk(root)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURSE_PRACTICUM_")}
    env["PYTHONPATH"] = str(ROOT)
    if reduced:
        env["TORCHDYNAMO_DISABLE"] = "1"  # the compile path runs, without minutes of CPU compilation
    info = gpu_info()
    log(f"{info.get('gpu') or 'CPU'}; torch {info['torch']}; CIFAR-10 on disk: {have_cifar}")
    import tempfile

    ckpt = tempfile.mkdtemp(prefix="day7-gpu-check-")  # checkpoints stay out of the repository
    common = ["--download", "no", "--root", str(root), "--targets", "", "--ckpt", ckpt]
    runs, skipped = [], []
    for profile in ("t4", "full"):
        for compiled in ("no", "yes"):
            name = f"throughput {profile} compile={compiled}"
            if time.perf_counter() - started > args.budget_s:
                skipped.append(name)
                continue
            if reduced:  # the profile's recipe on a tiny ViT and 64 of the digits: every step runs, in seconds
                size = ["--dataset", "cifar10", "--epochs", "2", "--force-profile", *REDUCED]
            else:
                size = ["--dataset", "cifar10" if have_cifar else "synthetic", "--epochs", "2"]
            log(f"{name} ...")
            result = benchmark(["--profile", profile, "--compile", compiled, *size, *common],
                               timeout=max(60.0, args.budget_s + 60 - (time.perf_counter() - started)), env=env)
            result.update(step=name, profile=profile, compile_requested=compiled == "yes")
            if "error" not in result:
                # the second epoch is the steady state; the first includes compilation and warm-up
                result["s_per_epoch_at_50k"] = round(result["s_per_epoch"] * CIFAR_TRAIN / result["train_images"], 3)
                result["extrapolated_to_50k"] = result["train_images"] != CIFAR_TRAIN
                log(f"  {result['images_per_s']:,.0f} img/s, {result['s_per_epoch_at_50k']:.2f} s/epoch at 50k "
                    f"(first epoch {result['first_epoch_s']:.1f} s), peak {result['peak_memory_mb']:.0f} MB, "
                    f"compile {result['compile']}")
            else:
                log(f"  failed: {result['error'][:300]}")
            runs.append(result)
    accuracy = None
    if time.perf_counter() - started > args.budget_s:
        skipped.append("accuracy run")
    else:
        if have_cifar and not reduced:
            acc_args = ["--profile", "t4", "--dataset", "cifar10", "--epochs", str(args.accuracy_epochs or 10)]
        elif reduced:
            acc_args = ["--profile", "quick", "--dataset", "cifar10", "--epochs", str(args.accuracy_epochs or 2), *REDUCED]
        else:  # a GPU without CIFAR-10: the digits, with the t4 recipe on batches of 128
            acc_args = ["--profile", "t4", "--dataset", "cifar10", "--epochs", str(args.accuracy_epochs or 30),
                        "--batch-size", "128"]
        log(f"accuracy run: {' '.join(acc_args)} ...")
        # without torch.compile: its speed-up is measured above, and a third compilation would cost a minute
        remaining = args.budget_s + 60 - (time.perf_counter() - started)
        accuracy = benchmark([*acc_args, "--model", "vit", "--compile", "no", *common], timeout=max(60.0, remaining), env=env)
        accuracy["step"] = "accuracy after a short run on real images"
        if "error" not in accuracy:
            log(f"  test accuracy {accuracy['final_test_acc']:.3f} after {accuracy['epochs']} epochs on: {accuracy['data']}")
    computed = {}
    for profile in ("t4", "full"):
        good = [r for r in runs if r.get("profile") == profile and "error" not in r]
        if good:
            best = min(good, key=lambda r: r["s_per_epoch_at_50k"])
            computed[profile] = dict(
                target_accuracy=TARGETS[profile], target_source="published results of comparable recipes (lesson section 11)",
                epochs=EPOCHS[profile], best_s_per_epoch=best["s_per_epoch_at_50k"], with_compile=best["compile"] == "on",
                time_to_target_min=round(best["s_per_epoch_at_50k"] * EPOCHS[profile] / 60, 2),
                note="computed: measured s/epoch x the profile's epochs; evaluation time not included"
                     + ("; s/epoch extrapolated from a reduced run" if best["extrapolated_to_50k"] else ""))
    report = dict(kind="day7 gpu-check", reduced=reduced, date=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                  env=info, cifar10_on_disk=have_cifar, runs=runs, accuracy=accuracy, computed=computed, skipped=skipped,
                  total_s=round(time.perf_counter() - started, 1))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", (info.get("gpu") or "cpu").lower()).strip("-")
    path = out / f"gpu-check-{slug}{'-reduced' if reduced else ''}-{dt.date.today().isoformat()}.json"
    path.write_text(json.dumps(report, indent=1, default=str) + "\n", encoding="utf-8")
    print(markdown(report))
    log(f"wrote {path} ({report['total_s']:.0f} s)")
    return 0 if all("error" not in r for r in runs) and (accuracy is None or "error" not in accuracy) else 1


def markdown(report: dict) -> str:
    """A summary to paste into the README, and the lesson's GPU_MEASURED entries."""
    gpu = report["env"].get("gpu") or "CPU (reduced mode, not a GPU figure)"
    lines = [f"Measured by `python3 manage.py gpu-check` on {gpu}, torch {report['env']['torch']}, {report['date'][:10]}"
             + (" (reduced mode: a one-block ViT on 64 images, s/epoch extrapolated to 50,000)" if report["reduced"] else ""), "",
             "| profile | torch.compile | images/s | s/epoch (50,000 images) | first epoch s | peak memory MB |",
             "|---|---|---|---|---|---|"]
    for r in report["runs"]:
        if "error" in r:
            lines.append(f"| {r.get('profile')} | {'yes' if r.get('compile_requested') else 'no'} | failed | | | |")
            continue
        lines.append(f"| {r['profile']} | {r['compile']} | {r['images_per_s']:,.0f} | {r['s_per_epoch_at_50k']:.2f} | "
                     f"{r['first_epoch_s']:.1f} | {r['peak_memory_mb']:,.0f} |")
    lines.append("")
    for profile, c in report["computed"].items():
        lines.append(f"* `{profile}`: {c['epochs']} epochs x {c['best_s_per_epoch']:.2f} s = "
                     f"**{c['time_to_target_min']:.1f} min** of training to aim at {c['target_accuracy']:.0%} "
                     "(computed from the measured s/epoch; the target is a published figure, not measured here)")
    acc = report.get("accuracy")
    if acc and "error" not in acc:
        lines.append(f"* short run: test accuracy {acc['final_test_acc']:.3f} after {acc['epochs']} epochs "
                     f"({acc['data']})")
    if not report["reduced"]:
        lines += ["", "GPU_MEASURED entries for the lesson (section 11):"]
        for profile in ("t4", "full"):
            per = {r["compile"]: r for r in report["runs"] if r.get("profile") == profile and "error" not in r}
            if per:
                entry = dict(s_per_epoch=per.get("off", {}).get("s_per_epoch_at_50k"),
                             s_per_epoch_compiled=per.get("on", {}).get("s_per_epoch_at_50k"),
                             peak_memory_gb=round(max(r["peak_memory_mb"] for r in per.values()) / 1024, 2))
                lines.append(f"    ({profile!r}, {report['env']['gpu']!r}): {entry!r},")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
