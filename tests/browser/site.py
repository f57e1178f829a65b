"""Helpers for the course website's tests (tests/test_site.py) and the lesson runs they share.

* ``run_folder``: a folder shared by every pytest-xdist worker of this run, fresh for every run.
* ``execution_cache``: the run's jupyter-cache of executed lessons (book/site.py: execute_cached).
  tests/test_notebooks.py executes each lesson into it; the site build takes them from it, so a test
  run executes each lesson once for both. Fresh per run: a lesson test never passes on a notebook
  executed by an earlier run, in another environment.
* ``shared_build``: the site built once per run, whichever worker gets there first; the others wait
  for it and reuse it (a file lock and a JSON record of the build).
* ``OfflineGuard``: every request a page makes that leaves file:// is recorded and refused.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from pathlib import Path

from filelock import FileLock

from book import site

# The repository URL the test build uses: it turns on the repository and "open in Colab" links
# (docs/site.md); the pages only link to it, nothing is fetched.
EXAMPLE_REPOSITORY = "https://github.com/example-owner/attention-cv"


def run_folder(tmp_path_factory, config) -> Path:
    """A folder shared by this run's xdist workers (the parent of their base temp folders), fresh per run."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if hasattr(config, "workerinput") else base


def execution_cache(tmp_path_factory, config) -> Path:
    """This run's cache of executed lessons; $COURSE_TEST_EXECUTION_CACHE names a lasting one instead.

    The variable is for working on the site's tests only: with it, lessons already in that cache
    are not executed again, so the lesson tests no longer prove that they run.
    """
    lasting = os.environ.get("COURSE_TEST_EXECUTION_CACHE")
    path = Path(lasting) if lasting else run_folder(tmp_path_factory, config) / "lesson-executions"
    path.mkdir(parents=True, exist_ok=True)
    return path


def load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def shared_build(tmp_path_factory, config) -> dict:
    """The site of this repository, built once per run: cold, then again (nothing changed) from the cache.

    Returns the record: {"html", "cold": {...}, "cached": {...}, "runs": [...]} or raises with the
    build's error (recorded too, so that a second worker does not build it again).
    """
    folder = run_folder(tmp_path_factory, config) / "site"
    record_path = folder / "build.json"
    with FileLock(str(folder) + ".lock"):
        if not record_path.exists():
            folder.mkdir(exist_ok=True)
            cache = execution_cache(tmp_path_factory, config)
            record: dict = {"load_before": load()}
            try:
                started = time.monotonic()
                cold = site.build(out=folder, cache=cache, jobs=1, repository_url=EXAMPLE_REPOSITORY)
                record["cold"] = _summary(cold, time.monotonic() - started)
                started = time.monotonic()
                again = site.build(out=folder, cache=cache, jobs=1, repository_url=EXAMPLE_REPOSITORY)
                record["cached"] = _summary(again, time.monotonic() - started)
                record.update(html=str(cold.html), runs=[asdict(r) for r in cold.runs], load_after=load(),
                              pages=[p.relative_to(cold.html).as_posix() for p in site.content_pages(cold.html)])
            except site.BuildError as error:
                record["error"] = str(error)
            record_path.write_text(json.dumps(record, indent=1), encoding="utf-8")
    record = json.loads(record_path.read_text(encoding="utf-8"))
    if "error" in record:
        raise site.BuildError(record["error"])
    return record


def _summary(build: site.Build, seconds: float) -> dict:
    return {"seconds": round(seconds, 1), "execute_seconds": round(build.execute_seconds, 1),
            "sphinx_seconds": round(build.sphinx_seconds, 1), "executed": [r.path for r in build.runs if not r.cached],
            "warnings": build.warnings}


class OfflineGuard:
    """Route handler for a browser context: file:// and in-page data pass; anything else is refused and recorded."""

    ALLOWED = ("file://", "data:", "blob:", "about:")

    def __init__(self) -> None:
        self.refused: list[str] = []

    def __call__(self, route) -> None:
        url = route.request.url
        if url.startswith(self.ALLOWED):
            route.continue_()
        else:
            self.refused.append(url)
            route.abort()

    def take(self) -> list[str]:
        """The requests refused since the last call (and forget them)."""
        refused, self.refused = self.refused, []
        return refused
