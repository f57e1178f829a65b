"""The course website (book/, docs/site.md): built from this repository, opened in Debian's Chromium.

What runs:

* test_build_fails_when_a_lesson_raises, test_sphinx_alone_fails_on_a_raising_lesson: a temporary
  course with a lesson that raises; `book.site.build` fails naming the cell and the error, and so
  does Sphinx on its own (MyST-NB's nb_execution_raise_on_error), without the lessons run first.
* test_editing_one_lesson_executes_only_that_one: a temporary course of two lessons built three
  times: cold (both run), after editing one's code (only that one runs, and its page shows the new
  output), after editing only text (none runs).
* The site of this repository, built once per test run (tests/browser/site.py: shared_build; the
  lessons come from the run's execution cache that tests/test_notebooks.py fills), cold and then
  again from the cache; build times, load and warnings are written to
  test-artifacts/browser/site-build.json. Opened from the build folder (file://) in Chromium:
  - test_rebuild_uses_the_cache: the second build executed nothing;
  - test_index_lists_every_day: the index lists every day of course/ and assignments/ under its own
    caption, with working links to each lesson and assignment, and the Start-here pages;
  - test_lesson_page[<lesson>]: every image output of the executed lesson (figures drawn by widgets
    included) is on the page and loaded (naturalWidth > 0), each widget is a still with its note and
    no widget JavaScript, the math is typeset by the bundled MathJax (no raw `$$` left), the download
    button gives the committed notebook, the Colab link points at the notebook in the repository;
    a screenshot of the page and of its first figure;
  - test_assignment_page[<day>]: the release as released (no outputs), math typeset, download, Colab;
  - test_search and test_reference_pages: Sphinx's search finds the lessons; the glossary and the
    pages that include the README's parts have their content.
  Every page: no console error, no uncaught exception, and no request that leaves file:// (each is
  refused and recorded; there must be none).

Time (measured on a busy 2-core machine, -n 0, lessons already executed): the two builds 36 s
(Sphinx), the pages 0.3-3 s each (45 s in all), the temporary courses 90 s; 168 s for the module.
In a full run the lessons' execution is shared with tests/test_notebooks.py (docs/site.md).
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import nbformat
import pytest

from book import site, stills
from tests.browser import lab as L
from tests.browser import site as S

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted(p.stem for p in (ROOT / "course").glob("*.ipynb"))
RELEASES = sorted(p.stem for p in (ROOT / "assignments").glob("*/*.ipynb") if p.stem == p.parent.name)
PAGE_LOAD = 120_000  # ms; every wait ends on a state


# -- widgets as stills (quick) --------------------------------------------------------------------
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def widget_notebook() -> nbformat.NotebookNode:
    """An executed notebook as nbclient saves it: an `interact` (VBox of a slider, a dropdown and an
    Output holding the first figure), a finished tqdm bar hidden by leave=False, a visible bar."""
    def model(name: str, **state) -> dict:
        return {"model_name": name, "model_module": "@jupyter-widgets/controls", "state": state}

    models = {
        "box": model("VBoxModel", children=["IPY_MODEL_slider", "IPY_MODEL_menu", "IPY_MODEL_out"], layout="IPY_MODEL_l1"),
        "slider": model("IntSliderModel", description="query row", value=20),
        "menu": model("DropdownModel", description="photo", index=1, _options_labels=["china", "flower"]),
        "out": model("OutputModel", outputs=[{"output_type": "display_data", "metadata": {},
                                              "data": {"image/png": PNG, "text/plain": "<Figure>"}}]),
        "l1": model("LayoutModel"),
        "bar": model("HBoxModel", children=["IPY_MODEL_t1", "IPY_MODEL_p1"], layout="IPY_MODEL_hidden"),
        "hidden": model("LayoutModel", visibility="hidden"),
        "t1": model("HTMLModel", value="epoch 1: 100%"),
        "p1": model("FloatProgressModel", value=23.0, max=23.0),
        "bar2": model("HBoxModel", children=["IPY_MODEL_t2", "IPY_MODEL_p2"], layout="IPY_MODEL_l1"),
        "t2": model("HTMLModel", value="epoch 2: 100%"),
        "p2": model("FloatProgressModel", value=23.0, max=23.0),
    }

    def view(model_id: str, text: str) -> dict:
        return {"output_type": "display_data", "metadata": {},
                "data": {stills.WIDGET_VIEW: {"model_id": model_id, "version_major": 2, "version_minor": 0}, "text/plain": text}}

    cells = [nbformat.v4.new_code_cell("interact(...)", outputs=[view("box", "interactive(...)")]),
             nbformat.v4.new_code_cell("train()", outputs=[view("bar", "HBox(...)"), view("bar2", "HBox(...)"),
                                                           nbformat.v4.new_output("stream", text="done\n")])]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["widgets"] = {stills.WIDGET_STATE: {"state": models, "version_major": 2, "version_minor": 0}}
    return nbformat.from_dict(nb)


def test_widgets_become_their_first_view_with_a_note():
    nb = widget_notebook()
    assert stills.image_count(nb) == 1  # the figure inside the Output widget counts
    assert stills.replace_widgets(nb) == 3
    interact, train = (c.outputs for c in nb.cells)
    note, figure = interact
    assert stills.NOTE_CLASS in note.data["text/html"]
    assert "query row = 20, photo = flower" in note.data["text/plain"], note.data["text/plain"]
    assert figure.output_type == "display_data" and figure.data["image/png"] == PNG
    assert [o.get("data", {}).get("text/plain", o.get("text")) for o in train] == ["epoch 2: 100% 23/23", "done\n"]
    assert "widgets" not in nb.metadata, "the widget state must go: MyST-NB would load widget JavaScript for it"
    assert stills.image_count(nb) == 1 and not stills.widget_errors(nb)


def test_a_widget_whose_first_draw_raised_is_an_error():
    nb = widget_notebook()
    state = nb.metadata["widgets"][stills.WIDGET_STATE]["state"]
    raised = {"output_type": "error", "ename": "IndexError", "evalue": "out of range", "traceback": []}
    state["out"]["state"]["outputs"] = [raised]
    assert site.errors(nb) == ["cell 0 (widget): IndexError: out of range"]


# -- temporary courses ----------------------------------------------------------------------------
def tiny_course(root: Path, lessons: dict[str, list[str]]) -> Path:
    """A course folder holding only the README (the site's pages include its parts) and small lessons."""
    (root / "course").mkdir(parents=True)
    shutil.copy(ROOT / "README.md", root / "README.md")
    for name, code in lessons.items():
        write_lesson(root / "course" / f"{name}.ipynb", f"# {name.replace('_', ' ')}", code)
    return root


def write_lesson(path: Path, heading: str, code: list[str]) -> None:
    cells = [nbformat.v4.new_markdown_cell(f"{heading}\n\nA lesson with math, $a^2$.")]
    cells += [nbformat.v4.new_code_cell(source) for source in code]
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                         "language": "python"}})
    nbformat.write(nb, path)


@pytest.mark.slow
def test_build_fails_when_a_lesson_raises(tmp_path):
    root = tiny_course(tmp_path / "repo", {"day1_fine": ["print('fine')"],
                                           "day2_broken": ["x = 1", "raise ValueError('broken on purpose')"]})
    with pytest.raises(site.BuildError) as failure:
        site.build(root=root, out=tmp_path / "out", jobs=1)
    message = str(failure.value)
    assert "day2_broken.ipynb: cell 2: ValueError: broken on purpose" in message, message
    assert "day1_fine" not in message, message
    assert not (tmp_path / "out" / "html" / "index.html").exists(), "the build went on after a lesson raised"
    # The failed run is not cached: the next build runs the lesson again instead of showing the error.
    assert site.cached_notebook(root / "course" / "day2_broken.ipynb", tmp_path / "out" / "cache") is None
    assert site.cached_notebook(root / "course" / "day1_fine.ipynb", tmp_path / "out" / "cache") is not None


@pytest.mark.slow
def test_sphinx_alone_fails_on_a_raising_lesson(tmp_path):
    """MyST-NB's own guard (nb_execution_raise_on_error), for a lesson that reaches Sphinx unexecuted."""
    root = tiny_course(tmp_path / "repo", {"day1_broken": ["raise ValueError('broken on purpose')"]})
    out = tmp_path / "out"
    site.stage(root, out / "src")
    with pytest.raises(site.BuildError) as failure:
        site.render(out / "src", out, out / "cache")
    assert "ExecutionError" in str(failure.value) and "day1_broken.ipynb" in str(failure.value), str(failure.value)


@pytest.mark.slow
def test_editing_one_lesson_executes_only_that_one(tmp_path):
    root = tiny_course(tmp_path / "repo", {"day1_first": ["print('first lesson, version 1')"],
                                           "day2_second": ["print('second lesson, version 1')"]})
    out = tmp_path / "out"

    def executed(build: site.Build) -> list[str]:
        return sorted(r.path for r in build.runs if not r.cached)

    cold = site.build(root=root, out=out, jobs=1)
    assert executed(cold) == ["day1_first.ipynb", "day2_second.ipynb"], [(r.path, r.cached) for r in cold.runs]

    write_lesson(root / "course" / "day2_second.ipynb", "# day2 second", ["print('second lesson, version 2')"])
    edited = site.build(root=root, out=out, jobs=1)
    assert executed(edited) == ["day2_second.ipynb"], [(r.path, r.cached) for r in edited.runs]
    page = (out / "html" / "course" / "day2_second.html").read_text(encoding="utf-8")
    assert "second lesson, version 2" in page and "version 1" not in page

    write_lesson(root / "course" / "day1_first.ipynb", "# day1 first, retitled", ["print('first lesson, version 1')"])
    text_only = site.build(root=root, out=out, jobs=1)
    assert executed(text_only) == [], [(r.path, r.cached) for r in text_only.runs]
    assert "day1 first, retitled" in (out / "html" / "course" / "day1_first.html").read_text(encoding="utf-8")

    # Sphinx itself never executed anything: every cache record is one book/site.py stored.
    from jupyter_cache import get_cache

    uris = {r.uri for r in get_cache(str(out / "cache")).list_cache_records()}
    assert uris == {"course/day1_first.ipynb", "course/day2_second.ipynb"}, uris


# -- this repository's site -----------------------------------------------------------------------
@pytest.fixture(scope="session")
def built(tmp_path_factory, request) -> dict:
    record = S.shared_build(tmp_path_factory, request.config)
    L.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (L.ARTIFACTS / "site-build.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    return record


@pytest.fixture(scope="session")
def html(built) -> Path:
    return Path(built["html"])


@pytest.fixture(scope="module")
def offline_browser(tmp_path_factory):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:  # fail, not skip: CI must not pass without running these
        raise RuntimeError("the site's browser tests need the `playwright` package (requirements-dev.txt); "
                           "deselect them with -m 'not browser'") from error

    guard = S.OfflineGuard()
    with sync_playwright() as playwright:
        context = L.launch_chromium(playwright, tmp_path_factory.mktemp("chromium-site-profile"))
        context.set_default_timeout(PAGE_LOAD)
        context.route("**/*", guard)
        yield context, guard
        context.close()


class Visit:
    """One page opened from the build folder, its console and its refused requests."""

    def __init__(self, offline_browser, name: str):
        self.context, self.guard = offline_browser
        self.page = self.context.new_page()
        self.watch = L.ConsoleWatch()
        self.watch.attach(self.page)
        self.shot = L.Shots(name)
        self.guard.take()

    def open(self, html: Path, rel: str, query: str = "") -> None:
        path = html / rel
        assert path.is_file(), f"the site has no page {rel}"
        self.page.goto(path.as_uri() + query)
        self.page.wait_for_load_state("load")

    def typeset(self) -> None:
        """Wait until MathJax (the bundled copy) has typeset the page, when the page loads it."""
        if self.page.evaluate("() => !!document.querySelector('script[src*=\"mathjax\"]')"):
            self.page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
            self.page.evaluate("() => MathJax.startup.promise")

    def check_clean(self) -> None:
        (self.shot.dir / "console.log").write_text("\n".join(self.watch.lines) + "\n", encoding="utf-8")
        refused = self.guard.take()
        assert not refused, f"the page requested something outside the build folder (refused): {refused}"
        assert not self.watch.errors, "console errors:\n" + "\n".join(self.watch.errors)

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def visit(offline_browser, request):
    v = Visit(offline_browser, request.node.name)
    yield v
    v.close()


# What a lesson page shows. Text of the page outside code and outputs (for raw math), images in
# outputs with their load state, the widget notes, and what would load widget JavaScript.
PAGE_FACTS_JS = """() => {
  const article = document.querySelector('article');
  const prose = article.cloneNode(true);
  prose.querySelectorAll('div.cell, pre, code, mjx-container, script').forEach(e => e.remove());
  const images = [...article.querySelectorAll('div.cell_output img')];
  return {
    images: images.map(i => ({src: i.getAttribute('src'), complete: i.complete, width: i.naturalWidth})),
    math: article.querySelectorAll('mjx-container').length,
    mathErrors: article.querySelectorAll('mjx-merror').length,
    rawDisplayMath: (prose.innerText.match(/\\$\\$/g) || []).length,
    notes: article.querySelectorAll('p.widget-still-note').length,
    widgetScripts: document.querySelectorAll(
      'script[type*="jupyter.widget"], script[src*="html-manager"], script[src*="require"]').length,
    links: [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')),
  };
}"""


def has_math(nb: nbformat.NotebookNode) -> bool:
    return any("$" in c.source for c in nb.cells if c.cell_type == "markdown")


def download_link(facts: dict, rel_notebook: str) -> str:
    links = [h for h in facts["links"] if h.endswith(f"_sources/{rel_notebook}")]
    assert links, f"no download link to _sources/{rel_notebook} on the page"
    return links[0]


def colab_link(facts: dict, rel_notebook: str) -> None:
    expected = f"https://colab.research.google.com/github/{S.EXAMPLE_REPOSITORY.split('github.com/')[1]}/blob/main/{rel_notebook}"
    assert expected in facts["links"], f"no 'open in Colab' link {expected}"


@pytest.mark.slow
@pytest.mark.browser
def test_rebuild_uses_the_cache(built):
    assert built["cached"]["executed"] == [], f"a rebuild with nothing changed executed {built['cached']['executed']}"
    assert len(built["runs"]) == len(LESSONS)
    print(f"site build: cold {built['cold']['seconds']} s (Sphinx {built['cold']['sphinx_seconds']} s, "
          f"executed {built['cold']['executed']}), cached {built['cached']['seconds']} s; load {built['load_before']}")


@pytest.mark.slow
@pytest.mark.browser
def test_index_lists_every_day(html, visit):
    visit.open(html, "index.html")
    captions = visit.page.locator(".bd-sidebar .caption-text").all_inner_texts()
    days = sorted({*(p for p in LESSONS if site.DAY.match(p)), *(r for r in RELEASES if site.DAY.match(r))}, key=site._day_key)
    for day in days:
        lesson = ROOT / "course" / f"{day}.ipynb"
        expected = site.title(lesson if lesson.exists() else ROOT / "assignments" / day / f"{day}.ipynb")
        assert expected in captions, f"the sidebar has no section for {day} ({expected!r}); sections: {captions}"
    table = visit.page.locator("article table").first
    hrefs = table.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    for day in days:
        for rel in ([f"course/{day}.html"] if day in LESSONS else []) + (
                [f"assignments/{day}/{day}.html"] if day in RELEASES else []):
            assert rel in hrefs, f"the index's table does not link {rel}: {hrefs}"
            assert (html / rel).is_file(), f"{rel} is linked from the index but was not built"
    for page in site.PAGES:
        assert (html / f"{page}.html").is_file(), f"the Start-here page {page} was not built"
    visit.shot(visit.page, "index")
    visit.check_clean()


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_page(lesson, html, built, visit, tmp_path_factory, request):
    cache = S.execution_cache(tmp_path_factory, request.config)
    executed = site.cached_notebook(ROOT / "course" / f"{lesson}.ipynb", cache)
    assert executed is not None, f"{lesson} is not in the run's execution cache after the site was built"
    nb = executed[0]
    expected_images = stills.image_count(nb)
    shown = copy.deepcopy(nb)
    stills.replace_widgets(shown)  # what the site shows: the notes it adds (interactive widgets only)
    widgets = sum(stills.NOTE_CLASS in o.get("data", {}).get("text/html", "")
                  for c in shown.cells if c.cell_type == "code" for o in c.outputs)
    if site.DAY.match(lesson):
        assert expected_images >= 1, f"{lesson} drew no figure: nothing to check on its page"

    visit.open(html, f"course/{lesson}.html")
    visit.typeset()
    images = visit.page.locator("article div.cell_output img")
    if expected_images:
        visit.page.wait_for_function(
            "() => [...document.querySelectorAll('article div.cell_output img')].every(i => i.complete)")
    facts = visit.page.evaluate(PAGE_FACTS_JS)

    broken = [i["src"] for i in facts["images"] if not (i["complete"] and i["width"] > 0)]
    assert not broken, f"{lesson}: images that did not load: {broken}"
    assert len(facts["images"]) >= expected_images, (
        f"{lesson}: the executed notebook has {expected_images} figures, the page shows {len(facts['images'])}")
    assert facts["notes"] == widgets, f"{lesson}: {widgets} interactive widget(s), {facts['notes']} still note(s)"
    assert facts["widgetScripts"] == 0, f"{lesson}: the page loads widget JavaScript (it needs a CDN)"
    if has_math(nb):
        assert facts["math"] > 0 and facts["mathErrors"] == 0, f"{lesson}: math not typeset ({facts})"
    assert facts["rawDisplayMath"] == 0, f"{lesson}: {facts['rawDisplayMath']} raw '$$' left in the text"

    source = html / "course" / download_link(facts, f"course/{lesson}.ipynb")
    assert source.resolve().read_bytes() == (ROOT / "course" / f"{lesson}.ipynb").read_bytes(), (
        "the download button must give the committed (output-free) notebook")
    colab_link(facts, f"course/{lesson}.ipynb")

    visit.shot(visit.page, "page")
    if facts["images"]:
        first = images.first
        first.scroll_into_view_if_needed()
        visit.shot(visit.page, f"{lesson} first figure", element=first)
    visit.check_clean()
    print(f"{lesson}: {len(facts['images'])} figures loaded (expected {expected_images}), {widgets} widget still(s), "
          f"{facts['math']} formulas")


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("day", RELEASES)
def test_assignment_page(day, html, visit):
    rel = f"assignments/{day}/{day}"
    visit.open(html, f"{rel}.html")
    visit.typeset()
    facts = visit.page.evaluate(PAGE_FACTS_JS)
    outputs = visit.page.locator("article div.cell_output").count()
    assert outputs == 0, f"{day}: the assignment is shown executed ({outputs} outputs); it must be as released"
    assert visit.page.get_by_text("YOUR CODE HERE").count() > 0, f"{day}: the exercise cells are not shown"
    release = nbformat.read(ROOT / f"{rel}.ipynb", as_version=4)
    if has_math(release):
        assert facts["math"] > 0 and facts["mathErrors"] == 0, f"{day}: math not typeset"
    assert facts["rawDisplayMath"] == 0
    source = (html / rel).parent / download_link(facts, f"{rel}.ipynb")
    assert source.resolve().read_bytes() == (ROOT / f"{rel}.ipynb").read_bytes()
    colab_link(facts, f"{rel}.ipynb")
    visit.shot(visit.page, "page")
    visit.check_clean()


@pytest.mark.slow
@pytest.mark.browser
def test_search(html, visit):
    visit.open(html, "search.html", "?q=attention")
    results = visit.page.locator("#search-results ul.search li")
    results.first.wait_for()
    visit.page.wait_for_function("() => !document.querySelector('#search-progress') || "
                                 "!/Searching|Preparing/.test(document.querySelector('#search-progress').innerText)")
    hrefs = results.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    found = {h.split("?")[0].split("#")[0] for h in hrefs}
    lessons = {f"course/{p}.html" for p in LESSONS if site.DAY.match(p)}
    assert lessons & found, f"searching 'attention' found no lesson: {sorted(found)}"
    visit.shot(visit.page, "search attention")
    visit.check_clean()


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("rel", ["docs/glossary.html", *[f"{p}.html" for p in site.PAGES]],
                         ids=lambda rel: rel.removesuffix(".html").replace("/", "-"))
def test_reference_pages(rel, html, visit):
    visit.open(html, rel)
    text = visit.page.locator("article").inner_text()
    assert len(text) > 400, f"{rel} is nearly empty ({len(text)} characters): did the README part it includes move?"
    if rel == "docs/glossary.html":
        assert visit.page.locator("article table").count() > 0
    visit.check_clean()

