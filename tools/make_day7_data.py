"""Write the Day 7 grading data: two-digit images derived from scikit-learn's handwritten digits.

    python tools/make_day7_data.py          # (re)writes autograder/data/day7_digitpairs_{train,heldout}.npz

Each image is 32x32: two of scikit-learn's 8x8 digits (scaled to 16x16 bilinearly), side by side
in rows 8-23; the label is the left (tens) digit. 450 of the 1,797 digits are held out: the 1,000
held-out images use only those, the 1,600 training images only the other 1,347. The derivation is
``autograder.checks.day7_practicum.digit_pairs`` (the assignment notebook has the same code, and
``tests/test_day7_data.py`` checks that the files, the checks module and the notebook agree).
Files: ``x`` uint8 (N, 32, 32), ``y`` int64 (N,) digit labels (the grader renames the classes).
The digits are from the UCI optical recognition of handwritten digits data set, as bundled with
scikit-learn (BSD licence).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.checks.day7_practicum import HELDOUT_FILE, TRAIN_FILE, digit_pairs  # noqa: E402


def main() -> int:
    out = ROOT / "autograder" / "data"
    out.mkdir(exist_ok=True)
    for split, name in (("train", TRAIN_FILE), ("heldout", HELDOUT_FILE)):
        x, y = digit_pairs(split)
        np.savez_compressed(out / name, x=x, y=y)
        print(f"{out / name}: x {x.shape} {x.dtype}, y {y.shape}, {(out / name).stat().st_size / 1e3:.0f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
