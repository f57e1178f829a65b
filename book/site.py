"""Build the course website: ``python3 manage.py book`` (the same as ``python -m book.site``).

Three steps, each one incremental:

1. **Stage.** What the site shows is copied, in the repository's own layout, into
   ``<out>/src``: the lessons (``course/*.ipynb``), the released assignments
   (``assignments/<day>/<day>.ipynb``), ``docs/glossary.md``, ``docs/exercises.md`` and
   ``docs/exercises/*.md``, ``docs/grading.md`` (the self-learners' way to grade themselves), the
   README (only as the source the site's pages include parts of) and the site's pages
   (``book/pages/``). A file is copied only when its content changed, so Sphinx re-reads only those.
   ``index.md``, the table of contents by day, is generated from what is there: a new lesson or a
   renamed one needs no change here.
2. **Execute.** Every notebook in ``course/`` runs top to bottom on the CPU the way a self-learner
   runs it (``execute_standalone``: a scratch folder holding only the notebook, a kernel that cannot
   import the repository), unless the execution cache already holds its outputs: jupyter-cache,
   matched on the hash of the notebook's code cells, so editing one lesson executes only that one
   and editing only its text executes nothing. A lesson that raises (also inside a widget's first
   draw) fails the build with the cells and errors; failed runs are not cached.
3. **Render.** Sphinx with MyST-NB (``nb_execution_mode = "cache"``, the same cache) and
   sphinx-book-theme writes ``<out>/html``; ``book/stills.py`` replaces widgets by their first view.
   Errors in the Sphinx log (a README part the pages include no longer found, ...) fail the build.

``tests/test_notebooks.py`` runs the lessons through ``execute_cached`` too, so one test session
executes each lesson once for both the lesson tests and the site (see docs/site.md).

    python -m book.site [--out DIR] [--cache DIR] [--jobs N] [--fresh] [--repository-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from importlib import metadata
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import nbformat

try:  # run as `python -m book.site` or imported as book.site
    from book import stills
except ImportError:  # pragma: no cover - run as a script from book/
    import stills  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
BUILD = BOOK / "_build"
CELL_TIMEOUT = int(os.environ.get("COURSE_SITE_CELL_TIMEOUT", "150"))  # a lesson cell still running after 150 s is stuck
DAY = re.compile(r"^day(\d+)_")
KEEP_VERSIONS = 3  # executions kept per notebook: the current one and two earlier (switching branches back)

# The order of the site's own pages (book/pages/*.md: each includes a section of the README) under
# "Start here"; a page not listed comes after these.
PAGES = ("setup", "students", "self-learners", "hardware", "troubleshooting")


class BuildError(RuntimeError):
    """The site cannot be built as it should be: a lesson raised, or Sphinx reported an error."""


# -- execution ------------------------------------------------------------------------------------
def kernel_env() -> dict[str, str]:
    """A self-learner's kernel: this Python's programs, no repository on the path, inline figures."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_XDIST_WORKER", "PYTEST_CURRENT_TEST")}
    env["PATH"] = os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", "")))
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    env.setdefault("OMP_NUM_THREADS", "1")  # one compute thread per kernel: builds share the cores
    return env


def errors(nb: nbformat.NotebookNode) -> list[str]:
    """Every error a reader would see: cells that raised, and widgets whose first draw raised."""
    found = [
        f"cell {i}: {out.get('ename')}: {out.get('evalue')}"[:500]
        for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
        for out in cell.get("outputs", []) if out.get("output_type") == "error"
    ]
    return found + stills.widget_errors(nb)


def _notebook_client(nb: nbformat.NotebookNode, cwd: Path | str, timeout: int) -> Any:
    """nbclient's NotebookClient whose wait for a cell's reply looks at the socket at least once a second.

    The idle-kernel wait (jupyter/nbclient#312: the kernel has replied and is idle, nbclient waits
    on) looks like a wake-up missed by one long poll of the shell socket: a fresh poll sees the
    waiting message at once. So one poll of up to ``timeout`` seconds becomes polls of one second
    each until the same deadline; the reply is taken as soon as one of them sees it.
    """
    from queue import Empty

    from nbclient import NotebookClient
    from nbclient.util import ensure_async

    class SteppedPollClient(NotebookClient):
        async def async_start_new_kernel_client(self) -> Any:
            kc = await super().async_start_new_kernel_client()
            channel = kc.shell_channel
            one_poll = channel.get_msg

            async def get_msg(timeout: float | None = None) -> dict:
                deadline = None if timeout is None else time.monotonic() + timeout
                while True:
                    step = 1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic()))
                    try:
                        return await ensure_async(one_poll(timeout=step))
                    except Empty:
                        if deadline is not None and time.monotonic() >= deadline:
                            raise

            channel.get_msg = get_msg
            return kc

    return SteppedPollClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True, record_timing=False,
                             resources={"metadata": {"path": str(cwd)}})


def execute_in(path: Path, cwd: Path | str, env: dict[str, str], timeout: int = CELL_TIMEOUT) -> nbformat.NotebookNode:
    """Run the notebook at ``path`` top to bottom (on after errors) in ``cwd``; return it with outputs.

    nbclient occasionally waits forever for a reply from a kernel that is already idle (seen with
    ipywidgets cells; jupyter/nbclient#312): a cell timeout is retried once with a fresh kernel, and
    said so; a notebook that times out twice fails.
    """
    from nbclient.exceptions import CellTimeoutError

    for attempt in (1, 2):
        nb = nbformat.read(path, as_version=4)
        client = _notebook_client(nb, cwd, timeout)
        try:
            client.execute(env=env)  # passed on to the kernel manager's start_kernel
            return nb
        except CellTimeoutError as exc:
            if attempt == 2:
                raise
            print(f"RETRY {path.name}: a cell timed out after {timeout} s ({str(exc)[:200]}); running it again",
                  flush=True)
    raise AssertionError("unreachable")


def execute_standalone(path: Path, timeout: int = CELL_TIMEOUT) -> tuple[nbformat.NotebookNode, float]:
    """Run a notebook top to bottom (on after errors) in a scratch folder holding only a copy of it.

    The kernel gets ``kernel_env()``: the repository cannot be imported, as on Colab.
    Returns the executed notebook and the seconds it took.
    """
    with tempfile.TemporaryDirectory(prefix="course-site-") as tmp:
        shutil.copy(path, Path(tmp) / path.name)
        started = time.monotonic()
        nb = execute_in(Path(tmp) / path.name, tmp, kernel_env(), timeout)
        return nb, time.monotonic() - started


@dataclass
class Run:
    """One lesson's execution as the site shows it."""

    path: str
    seconds: float
    cached: bool
    figures: int
    errors: list[str] = field(default_factory=list)


def _lock(path: Path):
    from filelock import FileLock  # a dependency of torch; cross-platform

    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path))


def cached_notebook(path: Path, cache_dir: Path) -> tuple[nbformat.NotebookNode, float] | None:
    """The notebook with its cached outputs merged in (as MyST-NB merges them) and the seconds its
    execution took, or None when the cache holds no execution of this notebook's code."""
    from jupyter_cache import get_cache

    nb = nbformat.read(path, as_version=4)
    with _lock(cache_dir / "locks" / "db.lock"):
        cache = get_cache(str(cache_dir))
        try:
            pk, merged = cache.merge_match_into_notebook(nb)
        except KeyError:
            return None
        seconds = cache.get_cache_record(pk).data.get("execution_seconds") or 0.0
    return merged, float(seconds)


def _store(nb: nbformat.NotebookNode, source: nbformat.NotebookNode, uri: str, seconds: float, cache_dir: Path) -> None:
    """Put an executed notebook in the cache under its source's key; keep KEEP_VERSIONS of each notebook.

    jupyter-cache keys a notebook on its code cells (source and metadata) and its kernelspec, so the
    executed notebook gets the source's cell metadata back (nbclient adds timings to it): otherwise
    MyST-NB, which looks the unexecuted notebook up, would never find it.
    """
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    for cell, original in zip(nb.cells, source.cells, strict=True):
        cell.metadata = original.metadata
    if "kernelspec" in source.metadata:
        nb.metadata["kernelspec"] = source.metadata["kernelspec"]
    with _lock(cache_dir / "locks" / "db.lock"):
        cache = get_cache(str(cache_dir))
        if cache.create_hashed_notebook(nb)[1] != cache.create_hashed_notebook(source)[1]:
            raise BuildError(f"{uri}: the executed notebook's cache key differs from its source's; not cached")
        record = cache.cache_notebook_bundle(
            CacheBundleIn(nb, uri, data={"execution_seconds": seconds}), check_validity=False, overwrite=True
        )
        older = sorted((r for r in cache.list_cache_records() if r.uri == uri and r.pk != record.pk),
                       key=lambda r: r.created, reverse=True)
        for old in older[KEEP_VERSIONS - 1:]:
            cache.remove_cache(old.pk)


def execute_cached(path: Path, cache_dir: Path, timeout: int = CELL_TIMEOUT) -> tuple[nbformat.NotebookNode, Run]:
    """The executed notebook: from the cache, or run by execute_standalone and cached if it raised nothing.

    One lock per notebook name: two processes asking for the same lesson (two test workers, or the
    lesson test and the site build) run it once; the second one waits and takes it from the cache.
    """
    with _lock(cache_dir / "locks" / f"{path.name}.lock"):
        hit = cached_notebook(path, cache_dir)
        if hit is not None:
            nb, seconds = hit
            return nb, Run(path.name, seconds, True, stills.image_count(nb), errors(nb))
        nb, seconds = execute_standalone(path, timeout)
        found = errors(nb)
        if not found:
            _store(nb, nbformat.read(path, as_version=4), f"{path.parent.name}/{path.name}", seconds, cache_dir)
        return nb, Run(path.name, seconds, False, stills.image_count(nb), found)


def _execute_one(args: tuple[str, str, int]) -> Run:
    path, cache_dir, timeout = args
    return execute_cached(Path(path), Path(cache_dir), timeout)[1]


def execute_all(paths: list[Path], cache_dir: Path, jobs: int = 1, timeout: int = CELL_TIMEOUT) -> list[Run]:
    """execute_cached for every notebook: cache hits here, misses ``jobs`` at a time (one process each)."""
    runs: dict[Path, Run] = {}
    for path in paths:
        hit = cached_notebook(path, cache_dir)
        if hit is not None:
            runs[path] = Run(path.name, hit[1], True, stills.image_count(hit[0]), errors(hit[0]))
            _say_run(runs[path])
    missing = [p for p in paths if p not in runs]
    work = [(str(p), str(cache_dir), timeout) for p in missing]
    if jobs <= 1 or len(missing) <= 1:
        results = map(_execute_one, work)
        for path, run in zip(missing, results, strict=True):
            runs[path] = run
            _say_run(run)
    else:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
            for path, run in zip(missing, pool.map(_execute_one, work), strict=True):
                runs[path] = run
                _say_run(run)
    return [runs[p] for p in paths]


def _say_run(run: Run) -> None:
    how = "from the cache" if run.cached else f"executed in {run.seconds:.1f} s"
    problem = f"; {len(run.errors)} error(s)" if run.errors else ""
    print(f"[book] {run.path}: {how}, {run.figures} figure(s){problem}", flush=True)


# -- staging --------------------------------------------------------------------------------------
def shown_files(root: Path) -> dict[str, Path]:
    """Staged path (POSIX, relative) -> source file, for everything the site shows."""
    files: dict[str, Path] = {}

    def add(paths: Iterable[Path], base: Path = root) -> None:
        for p in paths:
            if p.is_file():
                files[p.relative_to(base).as_posix()] = p

    add((root / "course").glob("*.ipynb"))
    add(p for p in (root / "assignments").glob("*/*.ipynb") if p.stem == p.parent.name)
    add(root / "docs" / name for name in ("glossary.md", "exercises.md", "grading.md"))
    add((root / "docs" / "exercises").glob("*.md"))
    add([root / "README.md"])
    add((BOOK / "pages").glob("*.md"), BOOK / "pages")
    return files


def _write_if_changed(dest: Path, data: bytes) -> bool:
    if dest.exists() and dest.read_bytes() == data:
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data)
    return True


def stage(root: Path, src: Path) -> list[str]:
    """Mirror what the site shows into ``src`` (only changed files are written); the changed paths."""
    files = shown_files(root)
    changed = [rel for rel, path in sorted(files.items()) if _write_if_changed(src / rel, path.read_bytes())]
    index = index_page(root, files)
    if _write_if_changed(src / "index.md", index.encode("utf-8")):
        changed.append("index.md")
    keep = set(files) | {"index.md"}
    for stale in sorted(p for p in src.rglob("*") if p.is_file() and p.relative_to(src).as_posix() not in keep):
        stale.unlink()
    for folder in sorted((p for p in src.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not any(folder.iterdir()):
            folder.rmdir()
    return changed


def title(path: Path) -> str:
    """The first level-1 heading of a notebook's markdown or of a markdown file; else the file's stem."""
    if path.suffix == ".ipynb":
        nb = json.loads(path.read_text(encoding="utf-8"))
        lines = [line for c in nb["cells"] if c["cell_type"] == "markdown" for line in "".join(c["source"]).splitlines()]
    else:
        lines = path.read_text(encoding="utf-8").splitlines()
    for line in lines:
        if line.startswith("# "):
            return line[2:].strip()
    return path.stem


def _day_key(stem: str) -> tuple[int, str]:
    match = DAY.match(stem)
    return (int(match.group(1)) if match else 10**6, stem)


def _doc(rel: str) -> str:
    return rel.rsplit(".", 1)[0]


def index_page(root: Path, files: dict[str, Path]) -> str:
    """The landing page: the README's opening, a table of the days, and the site's contents by day."""
    lessons = {Path(rel).stem: rel for rel in files if rel.startswith("course/") and rel.endswith(".ipynb")}
    releases = {Path(rel).stem: rel for rel in files if rel.startswith("assignments/")}
    contracts = {Path(rel).stem: rel for rel in files if rel.startswith("docs/exercises/")}
    days = sorted({s for s in (*lessons, *releases) if DAY.match(s)}, key=_day_key)
    other_lessons = sorted(s for s in lessons if not DAY.match(s) and s != "index")

    def caption(day: str) -> str:
        return title(files[lessons[day]]) if day in lessons else title(files[releases[day]])

    def link(text: str, rel: str | None) -> str:
        return f"[{text}]({rel})" if rel else ""

    out = ["# Attention in Computer Vision", ""]
    if "README.md" in files:
        out += ["```{include} README.md", ":start-line: 1", ':end-before: "\\n## "', "```", ""]
    out += ["## The days", "", "| day | lesson | assignment | exercise reference |", "| --- | --- | --- | --- |"]
    for day in days:
        number = DAY.match(day).group(1)
        out.append(f"| {number} | {link(caption(day), lessons.get(day))} | {link(day, releases.get(day))} "
                   f"| {link('contracts', contracts.get(day))} |")
    torch_version = _version("torch")
    out += [
        "",
        "## About this site",
        "",
        f"Every lesson on this site was run top to bottom on a CPU when the site was built ({date.today():%Y-%m-%d}, "
        f"PyTorch {torch_version}): the figures and the numbers printed under the code are that run's. Run a "
        "notebook yourself to see your own: the download button at the top of each page gives the notebook "
        "(without outputs), and the set-up page says how to run it. Sliders and menus are live only in a running "
        "notebook: here each interactive figure shows its first view, with a note. Assignments are shown as "
        "released, not run: the exercises are yours to write.",
        "",
    ]
    start = [f"The course notebook's contents <{_doc(lessons['index'])}>"] if "index" in lessons else []
    pages = [r for r in files if "/" not in r and r.endswith(".md") and r != "README.md"]
    start += [_doc(r) for r in sorted(pages, key=lambda r: (PAGES.index(r[:-3]) if r[:-3] in PAGES else len(PAGES), r))]
    out += _toctree("Start here", start)
    for day in days:
        entries = [f"Lesson <{_doc(lessons[day])}>" if day in lessons else None,
                   f"Assignment <{_doc(releases[day])}>" if day in releases else None,
                   f"Exercise reference <{_doc(contracts[day])}>" if day in contracts else None]
        out += _toctree(caption(day), [e for e in entries if e])
    if other_lessons:
        out += _toctree("More lessons", [_doc(lessons[s]) for s in other_lessons])
    reference = [r for r in ("docs/glossary.md", "docs/exercises.md", "docs/grading.md") if r in files]
    reference += sorted(r for s, r in contracts.items() if s not in days)
    out += _toctree("Reference", [_doc(r) for r in reference])
    return "\n".join(out) + "\n"


def _toctree(caption: str, entries: list[str]) -> list[str]:
    if not entries:
        return []
    return ["```{toctree}", f":caption: {caption}", ":hidden:", ":maxdepth: 2", "", *entries, "```", ""]


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


# -- the whole build ------------------------------------------------------------------------------
@dataclass
class Build:
    html: Path
    runs: list[Run]
    execute_seconds: float
    sphinx_seconds: float
    warnings: list[str]

    @property
    def seconds(self) -> float:
        return self.execute_seconds + self.sphinx_seconds


def default_jobs() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def build(
    root: Path = ROOT,
    out: Path = BUILD,
    cache: Path | None = None,
    jobs: int | None = None,
    repository_url: str | None = None,
    timeout: int = CELL_TIMEOUT,
) -> Build:
    """Stage, execute (cached) and render the site into ``out/html``; raise BuildError when it is wrong."""
    out = out.resolve()
    cache = (cache or out / "cache").resolve()
    src, html = out / "src", out / "html"
    changed = stage(root, src)
    print(f"[book] staged {len(shown_files(root)) + 1} files into {src} ({len(changed)} changed)", flush=True)

    started = time.monotonic()
    notebooks = sorted(src.glob("course/*.ipynb"))
    runs = execute_all(notebooks, cache, jobs or default_jobs(), timeout)
    execute_seconds = time.monotonic() - started
    failed = [f"{run.path}: {e}" for run in runs for e in run.errors]
    if failed:
        raise BuildError("lessons raised while the site was built (their outputs are not cached):\n" + "\n".join(failed))

    sphinx_seconds, warnings = render(src, out, cache, repository_url, timeout)
    return Build(html, runs, execute_seconds, sphinx_seconds, warnings)


def render(src: Path, out: Path, cache: Path, repository_url: str | None = None,
           timeout: int = CELL_TIMEOUT) -> tuple[float, list[str]]:
    """Sphinx on the staged sources into ``out/html``; (seconds, warnings). BuildError on any error."""
    out.mkdir(parents=True, exist_ok=True)
    env = kernel_env()  # MyST-NB executes with it too, should a notebook miss the cache
    if repository_url is not None:
        env["COURSE_REPOSITORY_URL"] = repository_url
    warnings_file = out / "sphinx-warnings.log"
    command = [
        sys.executable, "-m", "sphinx", "-b", "html", "-c", str(BOOK), "-d", str(out / "doctrees"),
        "-w", str(warnings_file), "-D", f"nb_execution_cache_path={cache}", "-D", f"nb_execution_timeout={timeout}",
        "-q", str(src), str(out / "html"),
    ]
    started = time.monotonic()
    done = subprocess.run(command, env=env, cwd=out, capture_output=True, text=True)
    seconds = time.monotonic() - started
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    warnings = warnings_file.read_text(encoding="utf-8", errors="replace").splitlines() if warnings_file.exists() else []
    serious = [w for w in warnings if re.search(r"\b(ERROR|CRITICAL|SEVERE)\b", w)]
    if done.returncode or serious:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise BuildError(f"Sphinx failed (exit {done.returncode}); errors in {warnings_file}:\n"
                         + "\n".join(serious or warnings[-15:]) + (f"\n{tail}" if tail else ""))
    return seconds, warnings


def content_pages(html: Path) -> list[Path]:
    """The site's pages (Sphinx's own search and index pages left out)."""
    skip = {"_static", "_sources", "_images", "_sphinx_design_static"}
    return sorted(p for p in html.rglob("*.html") if not skip & set(p.relative_to(html).parts)
                  and not (p.parent == html and p.name in ("search.html", "genindex.html")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 manage.py book", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=BUILD, help="build folder (default book/_build; the site is <out>/html)")
    parser.add_argument("--cache", type=Path, default=None, help="execution cache (default <out>/cache)")
    parser.add_argument("--jobs", type=int, default=None, help=f"lessons executed at once (default {default_jobs()})")
    parser.add_argument("--fresh", action="store_true", help="forget cached executions and the previous build")
    parser.add_argument("--repository-url", default=None,
                        help="https://github.com/OWNER/REPO: adds the repository and 'open in Colab' buttons "
                             "(default: $COURSE_REPOSITORY_URL; none when unset)")
    args = parser.parse_args(argv)
    if args.fresh:
        for path in (args.out / "src", args.out / "html", args.out / "doctrees", args.out / "jupyter_execute",
                     args.cache or args.out / "cache"):
            shutil.rmtree(path, ignore_errors=True)
    started = time.monotonic()
    try:
        result = build(out=args.out, cache=args.cache, jobs=args.jobs, repository_url=args.repository_url)
    except BuildError as error:
        print(f"[book] FAILED: {error}", file=sys.stderr, flush=True)
        return 1
    pages = len(content_pages(result.html))
    executed = sum(not r.cached for r in result.runs)
    print(f"[book] built {pages} pages in {time.monotonic() - started:.1f} s ({executed} notebook(s) executed, "
          f"{len(result.runs) - executed} from the cache; Sphinx {result.sphinx_seconds:.1f} s, "
          f"{len(result.warnings)} warning(s) in {args.out / 'sphinx-warnings.log'})")
    print(f"[book] open {(result.html / 'index.html').resolve().as_uri()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
