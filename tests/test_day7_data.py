"""Day 7's grading data: the committed files, the checks module and the assignment derive the same images."""

from __future__ import annotations

import sys
from pathlib import Path

import jupytext
import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.checks import day7_practicum as checks  # noqa: E402


def _notebook_digit_pairs():
    """The `digit_pairs` the assignment's data cell defines (run alone, without the rest of the notebook)."""
    nb = jupytext.read(ROOT / "sources" / "solutions" / "day7_practicum.py")
    source = next(c.source for c in nb.cells if c.metadata.get("nb") == "readonly:data")
    ns = {"torch": torch, "F": torch.nn.functional}
    exec(source.split("\ntry:")[0], ns)
    return ns["digit_pairs"]


def test_day7_committed_data_match_the_derivation() -> None:
    notebook = _notebook_digit_pairs()
    for split, name, n in (("train", checks.TRAIN_FILE, 1600), ("heldout", checks.HELDOUT_FILE, 1000)):
        with np.load(ROOT / "autograder" / "data" / name) as blob:
            x, y = blob["x"], blob["y"]
        assert x.shape == (n, 32, 32) and x.dtype == np.uint8 and y.shape == (n,) and y.dtype == np.int64
        dx, dy = checks.digit_pairs(split)
        assert np.array_equal(y, dy), f"{name}: labels differ from the derivation"
        assert np.abs(x.astype(int) - dx.astype(int)).max() <= 1, f"{name}: pixels differ from the derivation"
        nx, ny = notebook(split)
        assert tuple(nx.shape) == (n, 3, 32, 32) and torch.equal(nx[:, 0], nx[:, 2])
        assert np.array_equal(ny.numpy(), dy) and np.abs(nx[:, 0].numpy().astype(int) - dx.astype(int)).max() <= 1


def test_day7_heldout_digits_are_not_in_the_training_images() -> None:
    """The held-out images use 450 digits the training images never contain (exact pixel halves)."""
    train = np.load(ROOT / "autograder" / "data" / checks.TRAIN_FILE)["x"]
    held = np.load(ROOT / "autograder" / "data" / checks.HELDOUT_FILE)["x"]
    halves = {h.tobytes() for img in train for h in (img[8:24, :16], img[8:24, 16:])}
    shared = sum(img[8:24, :16].tobytes() in halves for img in held)
    assert shared == 0, f"{shared} held-out tens digits also appear in the training images"


def test_day7_sandbox_declarations() -> None:
    assert checks.SANDBOX_FILES == (checks.TRAIN_FILE,), "only the training images may enter the sandbox"
    assert checks.HELDOUT_FILE not in checks.SANDBOX_FILES
    assert "sklearn/datasets/data/digits.csv.gz" in checks.SANDBOX_HIDE
    import sklearn

    assert (Path(sklearn.__file__).parent / "datasets" / "data" / "digits.csv.gz").is_file()
    nb = jupytext.read(ROOT / "sources" / "solutions" / "day7_practicum.py")
    setup = next(c.source for c in nb.cells if c.metadata.get("nb") == "readonly:setup")
    assert f"FLOOR = {checks.ACCURACY_FLOOR:.2f}" in setup, "the notebook's FLOOR must be the checks' ACCURACY_FLOOR"
