"""Command-line benchmark of the Day 7 practicum: the notebook's own training code, without Jupyter.

It executes the cells of ``sources/course/day7_practicum.py`` tagged ``pipeline`` (switches, data,
augmentation, models, the training loop), so what it measures is exactly what the notebook trains,
then trains one model and prints ONE JSON line on stdout (everything else goes to stderr):

    python tools/benchmark.py --profile quick                    # CPU, offline fallback data
    python tools/benchmark.py --profile quick --data subset.npz  # CIFAR-format .npz, 20% held out
    python tools/benchmark.py --profile full --model vit --targets 0.9,0.93
    python tools/benchmark.py --profile t4 --dataset synthetic --epochs 2   # throughput only
    python tools/benchmark.py --profile quick --set '{"augment": "randaugment", "mix_prob": 1.0}'  # one switch
    torchrun --nproc_per_node=4 tools/benchmark.py --profile full      # 4 GPUs, DistributedDataParallel

Under ``torchrun`` every process runs the same code on its slice of each batch (the notebook's
section 4); only the first prints the JSON line. ``--dump-state PATH`` saves the trained weights
(``PATH.rank<r>`` from every process), which ``tests/test_day7_ddp.py`` compares.

Fields: device, model, parameters, images_per_s (median over epochs after the first), s_per_epoch,
first_epoch_s (includes compilation and warm-up), time_to_accuracy (training seconds until the test
accuracy first reached each target, null if never), final_test_acc, best_test_acc, peak_memory_mb
(CUDA: max allocated; CPU: the process's peak resident set), and the data source.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "sources" / "course" / "day7_practicum.py"
CELL = re.compile(r"^# %%(.*)$")


def pipeline_cells(path: Path = SOURCE) -> list[str]:
    """The code of the cells tagged "pipeline" in a jupytext percent script, in order."""
    cells: list[tuple[str, list[str]]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = CELL.match(line)
        if match:
            cells.append((match.group(1), []))
        elif cells:
            cells[-1][1].append(line)
    return ["\n".join(body) for header, body in cells if "[markdown]" not in header and '"pipeline"' in header]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", default="quick", choices=("quick", "t4", "full"))
    p.add_argument("--model", default="vit", choices=("vit", "hybrid", "cnn"))
    p.add_argument("--dataset", default="cifar10", choices=("cifar10", "cifar100", "imagefolder", "synthetic"))
    p.add_argument("--root", default=None, help="where CIFAR is (or is cached); default ./data")
    p.add_argument("--data", default=None, help="CIFAR-format .npz used when the dataset is not on disk")
    p.add_argument("--download", choices=("yes", "no"), default=None, help="default: no for quick, yes otherwise")
    p.add_argument("--compile", choices=("yes", "no"), default=None, help="default: the profile's (on outside quick)")
    p.add_argument("--set", default=None, help="JSON object of recipe switches, e.g. '{\"mix_prob\": 0}'")
    p.add_argument("--dump-state", default=None, help="save the trained state_dict to PATH.rank<r>")
    p.add_argument("--force-profile", action="store_true", help="keep a GPU profile even without a GPU (slow)")
    p.add_argument("--epochs", type=int, default=None, help="override the profile's epochs")
    p.add_argument("--train-limit", type=int, default=None, help="use at most this many training images")
    p.add_argument("--test-limit", type=int, default=None, help="use at most this many test images")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--targets", default="0.5,0.7,0.8,0.9,0.93", help="comma-separated test accuracies to time")
    p.add_argument("--ckpt", default=None, help="checkpoint folder (default: a folder under the system temp dir)")
    return p.parse_args(argv)


def run(args: argparse.Namespace) -> dict:
    env = {"COURSE_PRACTICUM_PROFILE": args.profile, "COURSE_PRACTICUM_DATASET": args.dataset, "COURSE_PRACTICUM_RESUME": "0"}
    if args.root:
        env["COURSE_PRACTICUM_ROOT"] = args.root
    if args.data is not None:
        env["COURSE_PRACTICUM_DATA"] = args.data
    if args.download:
        env["COURSE_PRACTICUM_DOWNLOAD"] = "1" if args.download == "yes" else "0"
    switches = json.loads(args.set) if args.set else {}
    if args.compile:
        switches["compile"] = args.compile == "yes"
    env["COURSE_PRACTICUM_SET"] = json.dumps(switches)
    env["COURSE_PRACTICUM_ABLATION"] = "0"
    if args.force_profile:
        env["COURSE_PRACTICUM_FORCE_PROFILE"] = "1"
    if args.ckpt:
        env["COURSE_PRACTICUM_CKPT"] = args.ckpt
    else:
        import tempfile

        env["COURSE_PRACTICUM_CKPT"] = str(Path(tempfile.gettempdir()) / "day7_benchmark_checkpoints")
    os.environ.update(env)

    import matplotlib

    matplotlib.use("Agg")  # the pipeline imports pyplot; no window, no display
    cells = pipeline_cells()
    ns: dict = {"__name__": "day7_practicum"}
    with contextlib.redirect_stdout(sys.stderr):  # the notebook's prints go to stderr; stdout is the JSON line
        exec(compile(cells[0], f"{SOURCE.name} [switches]", "exec"), ns)
        cfg = ns["CFG"]
        for key, value in (("train_limit", args.train_limit), ("test_limit", args.test_limit), ("batch_size", args.batch_size)):
            if value is not None:
                cfg[key] = value
        for i, code in enumerate(cells[1:], start=1):
            exec(compile(code, f"{SOURCE.name} [pipeline cell {i}]", "exec"), ns)
        torch = ns["torch"]
        epochs = args.epochs or (cfg["epochs"] if args.model == "vit" else cfg["baseline_epochs"])
        start = time.perf_counter()
        model, history = ns["fit"](args.model, cfg, ns["data"], epochs, progress=False, resume=False)
        wall = time.perf_counter() - start
        if args.dump_state:
            torch.save(model.state_dict(), f"{args.dump_state}.rank{ns['RANK']}")
    summary = ns["summarize"](args.model, model, history)
    targets = [float(t) for t in args.targets.split(",") if t.strip()]
    reached = {}
    for target in targets:
        hit = next((h for h in history if h["test_acc"] >= target), None)
        reached[f"{target:g}"] = None if hit is None else round(hit["elapsed_s"], 3)
    if ns["DEVICE_TYPE"] == "cuda":
        peak, kind = torch.cuda.max_memory_allocated() / 2**20, "cuda_max_allocated"
        device = f"cuda ({torch.cuda.get_device_name()})"
    else:
        peak, kind = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "process_max_rss"
        device = f"cpu ({torch.get_num_threads()} threads)"
    data = ns["data"]
    return dict(
        device=device, profile=ns["PROFILE"], model=args.model, parameters=summary["parameters"],
        epochs=len(history), train_images=len(data["y_train"]), test_images=len(data["y_test"]),
        num_classes=data["num_classes"], images_per_s=round(summary["images_per_s"], 1),
        s_per_epoch=round(summary["s_per_epoch"], 3), first_epoch_s=round(summary["first_epoch_s"], 3),
        train_s=round(summary["train_s"], 3), wall_s=round(wall, 3), time_to_accuracy=reached,
        final_test_acc=round(summary["final_test_acc"], 4), best_test_acc=round(summary["best_test_acc"], 4),
        chance_acc=round(1 / data["num_classes"], 4), peak_memory_mb=round(peak, 1), peak_memory_kind=kind,
        amp=str(ns["amp_dtype"](cfg)).replace("torch.", "") if ns["amp_dtype"](cfg) else "off",
        compile=summary["compile"], processes=ns["WORLD_SIZE"], history=[
            {k: round(v, 4) if isinstance(v, float) else v for k, v in h.items()} for h in history],
        recipe={k: v for k, v in cfg.items() if k not in ("vit",)} | {"vit": cfg["vit"]},
        data=data["source"], is_main=ns["IS_MAIN"],
    )


def main(argv: list[str] | None = None) -> int:
    result = run(parse_args(argv))
    if result.pop("is_main"):
        print(json.dumps(result, default=str), flush=True)
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
