"""Command line: ``python -m autograder.grading SUBMISSIONS [--out DIR] [options]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.grading.batch import DEFAULT_PATTERN, grade_batch
from autograder.grading.settings import CONFIG_FILE, load_settings
from autograder.sandbox import SandboxError


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python3 manage.py grade",
        description="Grade a batch of submissions in sandboxes (see docs/grading.md). Limits come from the nbgrader "
                    "configuration (c.Execute.timeout, c.SandboxedExecute.*, c.GradeBatch.*); the options override them.",
        epilog="Downloads: Canvas (<sortablename>_[LATE_]<user id>_<submission id>_<file>) and Moodle "
        "(<Full Name>_<participant id>_assignsubmission_file_ folders or prefixes) are keyed by the platform's id; "
        "other names: <student>_[anything_]<assignment>[-<n>].ipynb, or --pattern, a regex with named groups "
        "'student' and 'assignment' (optional 'rev'). Exit status 4: two files mapped to one student.",
    )
    p.add_argument("submissions", type=Path, help="nbgrader submitted/ folder (<student>/<assignment>/<assignment>.ipynb), "
                   "or a folder or zip of notebooks downloaded from a learning platform")
    p.add_argument("--out", type=Path, default=Path("grading-output"), help="output folder (default: grading-output)")
    p.add_argument("--assignment", help="only this assignment")
    p.add_argument("--jobs", "-j", type=int, help="parallel sandboxes (default: c.GradeBatch.jobs, else all cores)")
    p.add_argument("--pattern", help=f"regex for LMS file names (default: {DEFAULT_PATTERN})")
    p.add_argument("--db", help="nbgrader gradebook URL (default: sqlite:///OUT/gradebook.db)")
    p.add_argument("--config", type=Path, default=CONFIG_FILE, help=f"nbgrader configuration file (default: {CONFIG_FILE})")
    p.add_argument("--cell-timeout", type=float, help="seconds per cell (default: c.Execute.timeout)")
    p.add_argument("--notebook-timeout", type=float, help="seconds per notebook")
    p.add_argument("--submission-timeout", type=float, help="seconds per submission, everything included")
    p.add_argument("--memory", type=float, help="GiB of address space per sandboxed process")
    p.add_argument("--bwrap", help="path to bubblewrap (default: bwrap on PATH)")
    p.add_argument("--force", action="store_true", help="re-grade even what the journal says is graded")
    p.add_argument("--roster", type=Path, help="CSV roster: platform_id, name, email, nbgrader_id (default: "
                   "c.GradeBatch.roster)")
    p.add_argument("--partial-credit", action="store_true", help="score every exercise in proportion to the hidden "
                   "cases passed (default: c.GradeBatch.partial_credit, all or nothing)")
    p.add_argument("--late-policy", choices=("zero", "none"), help="what a submission marked late scores "
                   "(default: c.LateSubmissionPlugin.penalty_method)")
    p.add_argument("--no-similarity", action="store_true", help="skip the similarity report")
    args = p.parse_args(argv)
    limits, settings = load_settings(args.config)
    if args.partial_credit:
        settings.partial_credit = True
    if args.late_policy:
        settings.late_policy = args.late_policy
    if args.no_similarity:
        settings.similarity = False
    if args.cell_timeout:
        limits.cell_timeout = args.cell_timeout
    if args.notebook_timeout:
        limits.notebook_timeout = args.notebook_timeout
    if args.submission_timeout:
        settings.submission_timeout = args.submission_timeout
    if args.memory:
        limits.memory_bytes = int(args.memory * 2**30)
        limits.total_memory_bytes = max(limits.total_memory_bytes, limits.memory_bytes)
    if args.bwrap:
        limits.bwrap = args.bwrap
    try:
        summary = grade_batch(args.submissions, args.out, assignment=args.assignment, jobs=args.jobs, limits=limits,
                              pattern=args.pattern, db_url=args.db, force=args.force, settings=settings,
                              roster=args.roster)
    except SandboxError as exc:
        print(f"[grade] ERROR: the sandbox is not available, nothing was graded: {exc}", file=sys.stderr)
        return 3
    except FileNotFoundError as exc:
        print(f"[grade] ERROR: {exc}", file=sys.stderr)
        return 2
    tp = summary.get("throughput", {})
    if tp.get("per_minute"):
        print(f"[grade] throughput: {tp['per_minute']} submissions per minute ({tp['graded']} in {tp['seconds']} s)")
    if summary.get("conflicts"):
        print(f"[grade] ERROR: {len(summary['conflicts'])} student(s) with more than one file were not graded "
              f"(listed above and in {args.out / 'not_graded.csv'})", file=sys.stderr)
        return 4
    return 0


if __name__ == "__main__":
    sys.exit(main())
