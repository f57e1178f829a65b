"""Run inside a day's sandbox copy of ``autograder`` (PYTHONPATH = that copy): offer every callable
it holds to every exercise's probe, and write the probe data (wire format) as JSON lines.

    python offer_everything.py DAY OUT.jsonl

Used by tests/test_sandbox_answers.py: the trusted side then judges every line; all must fail,
or the sandbox holds something that computes an answer.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
import types


def callables() -> dict[str, object]:
    """Every callable reachable in the copy: module attributes, class attributes, items of module-level containers."""
    import autograder

    found: dict[int, tuple[str, object]] = {}
    names = [m.name for m in pkgutil.walk_packages(autograder.__path__, "autograder.")]
    for modname in ["autograder", *names]:
        mod = importlib.import_module(modname)
        for attr, value in vars(mod).items():
            if attr.startswith("__"):
                continue
            items = [(f"{modname}.{attr}", value)]
            if isinstance(value, type) and value.__module__.startswith("autograder"):
                items += [(f"{modname}.{attr}.{k}", getattr(value, k)) for k in vars(value) if not k.startswith("__")]
            if isinstance(value, (list, tuple, dict)):
                elems = value.values() if isinstance(value, dict) else value
                items += [(f"{modname}.{attr}[{i}]", v) for i, v in enumerate(elems)]
                items += [(f"{modname}.{attr}[{i}][{k}]", w) for i, v in enumerate(elems) if isinstance(v, (tuple, list))
                          for k, w in enumerate(v)]
            for label, obj in items:
                if callable(obj) and not isinstance(obj, types.ModuleType) and id(obj) not in found:
                    found[id(obj)] = (label, obj)
    return dict(found.values())


def main(day: str, out: str) -> None:
    import torch

    torch.set_num_threads(1)
    from autograder.wire import encode_plain

    registry = importlib.import_module(f"autograder.checks.{day}").REGISTRY
    offered = callables()
    with open(out, "w") as fh:
        for exercise in registry.exercises:
            for label, fn in offered.items():
                data = registry.probe(exercise, fn)
                fh.write(json.dumps({"exercise": exercise, "callable": label, "data": encode_plain(data)}) + "\n")
                fh.flush()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
