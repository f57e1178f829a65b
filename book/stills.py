"""ipywidgets on a static site: each widget output becomes the view it first drew, with a note.

An executed interactive cell (``widgets.interact(plot, row=IntSlider(...))``) leaves an output that
only names a widget model (``application/vnd.jupyter.widget-view+json``). The picture it drew lives
in the notebook's widget state, in the model of the ``Output`` widget that ``interact`` adds. Showing
the live widget on a web page needs ipywidgets' JavaScript from a CDN, which an offline site cannot
load. So the site shows what a reader sees before touching a control: the outputs held by the
widget's ``Output`` models, under a note that names the controls with their initial values and says
they are live in JupyterLab or Colab. Display-only widgets (a progress bar) become their text, and
widgets hidden or closed by the time the notebook finished (``tqdm(..., leave=False)``) disappear.

``replace_widgets(nb)`` does it to an executed notebook in place and drops the widget state, so
MyST-NB adds no widget JavaScript. ``setup(app)`` makes it a Sphinx extension: it applies
``replace_widgets`` to every notebook right after MyST-NB executed it or took it from the cache, so
the lessons themselves never change for the site.
"""

from __future__ import annotations

import html
from collections.abc import Iterator

import nbformat

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")
NOTE_CLASS = "widget-still-note"  # the browser test finds the notes by this class


def widget_models(nb: nbformat.NotebookNode) -> dict[str, dict]:
    """model id -> {"model_name": ..., "state": {...}} from the notebook's saved widget state."""
    saved = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {})
    return dict(saved.get("state", {}))


def _walk(model_id: str, models: dict[str, dict], seen: set[str] | None = None) -> Iterator[dict]:
    """The model and, depth first in display order, the models it shows (its ``children``)."""
    seen = set() if seen is None else seen
    if model_id in seen or model_id not in models:
        return
    seen.add(model_id)
    model = models[model_id]
    yield model
    for child in model.get("state", {}).get("children", []):
        if isinstance(child, str) and child.startswith("IPY_MODEL_"):
            yield from _walk(child.removeprefix("IPY_MODEL_"), models, seen)


def _value_text(state: dict) -> str | None:
    """A control's current value as a reader would read it (a dropdown's label, not its index)."""
    labels = state.get("_options_labels")
    if labels is not None and isinstance(state.get("index"), int) and 0 <= state["index"] < len(labels):
        return str(labels[state["index"]])
    value = state.get("value")
    if isinstance(value, bool) or value is None:
        return None if value is None else str(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (int, str)):
        return str(value)
    if isinstance(value, list):
        return "(" + ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value) + ")"
    return None


def controls(model_id: str, models: dict[str, dict]) -> list[tuple[str, str]]:
    """(description, initial value) of every labelled control the widget shows."""
    found = []
    for model in _walk(model_id, models):
        state = model.get("state", {})
        description = state.get("description")
        value = _value_text(state)
        if description and value is not None:
            found.append((str(description), value))
    return found


def held_outputs(model_id: str, models: dict[str, dict]) -> list[dict]:
    """The outputs (figures, printed text, errors) held by the widget's Output models, in order."""
    return [out for model in _walk(model_id, models) if model.get("model_name") == "OutputModel"
            for out in model.get("state", {}).get("outputs", [])]


def hidden(model_id: str, models: dict[str, dict]) -> bool:
    """Whether the widget was hidden when the notebook finished (a finished ``tqdm(leave=False)`` bar)."""
    layout = models.get(model_id, {}).get("state", {}).get("layout", "")
    state = models.get(str(layout).removeprefix("IPY_MODEL_"), {}).get("state", {})
    return state.get("visibility") == "hidden" or state.get("display") == "none"


def _display_text(model_id: str, models: dict[str, dict]) -> str:
    """The visible text of a display-only widget: labels, HTML text, a progress as value/max."""
    parts = []
    for model in _walk(model_id, models):
        state, name = model.get("state", {}), model.get("model_name", "")
        if name in ("HTMLModel", "LabelModel", "HTMLMathModel") and str(state.get("value", "")).strip():
            parts.append(html.unescape(str(state["value"]).strip()))
        elif name in ("FloatProgressModel", "IntProgressModel"):
            top = state.get("max", "?")
            parts.append(f"{_value_text(state)}/{top:g}" if isinstance(top, float) else f"{_value_text(state)}/{top}")
    return " ".join(parts)


def _note(pairs: list[tuple[str, str]], drew: bool) -> dict:
    """The note shown above a still: what the controls are, that they are live when the notebook runs."""
    named = ", ".join(f"{d} = {v}" for d, v in pairs)
    if drew:
        text = ("Interactive in JupyterLab or Colab: run the notebook to move the controls. "
                + (f"This still is the first view ({named})." if named else "This still is the first view."))
    else:
        text = ("Interactive controls" + (f" ({named})" if named else "")
                + ": run the notebook in JupyterLab or Colab to use them.")
    body = f'<p class="{NOTE_CLASS}">{html.escape(text)}</p>'
    return nbformat.v4.new_output("display_data", data={"text/html": body, "text/plain": text})


def still(view: dict, fallback_text: str, models: dict[str, dict]) -> list[nbformat.NotebookNode]:
    """What replaces one widget output: a note and the held outputs, or the widget's text, or nothing."""
    model_id = view.get("model_id", "")
    if model_id not in models or hidden(model_id, models):
        return []  # closed or hidden before the notebook finished: a running notebook shows nothing either
    held = held_outputs(model_id, models)
    pairs = controls(model_id, models)
    if held:
        outputs = [nbformat.from_dict(out) for out in held]
        # A widget inside a widget's output: replace it too (its state is the same notebook's).
        flat = []
        for out in outputs:
            inner = out.get("data", {}).get(WIDGET_VIEW) if out.get("output_type") in ("display_data", "execute_result") else None
            flat.extend(still(inner, out["data"].get("text/plain", ""), models) if inner else [out])
        for out in flat:
            if out.get("output_type") == "execute_result":
                out["output_type"] = "display_data"
                out.pop("execution_count", None)
        return [_note(pairs, drew=True), *flat]
    if pairs:
        return [_note(pairs, drew=False)]
    text = _display_text(model_id, models) or fallback_text
    return [nbformat.v4.new_output("display_data", data={"text/plain": text})] if text else []


def replace_widgets(nb: nbformat.NotebookNode) -> int:
    """Replace every widget output by its still (in place) and drop the widget state; the count replaced."""
    models = widget_models(nb)
    replaced = 0
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        outputs = []
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get(WIDGET_VIEW) if out.get("output_type") in ("display_data", "execute_result") else None
            if view is None:
                outputs.append(out)
                continue
            outputs.extend(still(view, out["data"].get("text/plain", ""), models))
            replaced += 1
        cell["outputs"] = outputs
    nb.metadata.pop("widgets", None)
    return replaced


def image_count(nb: nbformat.NotebookNode) -> int:
    """Figures a reader sees: image outputs, counting those a widget drew (as the site shows them)."""
    models = widget_models(nb)
    count = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            data = out.get("data", {})
            if any(t in data for t in IMAGE_TYPES):
                count += 1
            elif WIDGET_VIEW in data:
                count += sum(any(t in o.get("data", {}) for t in IMAGE_TYPES)
                             for o in held_outputs(data[WIDGET_VIEW].get("model_id", ""), models))
    return count


def widget_errors(nb: nbformat.NotebookNode) -> list[str]:
    """Errors raised inside widgets' first draw: they never fail the cell, so execution misses them."""
    models = widget_models(nb)
    found = []
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            view = out.get("data", {}).get(WIDGET_VIEW)
            for held in held_outputs(view.get("model_id", ""), models) if view else []:
                if held.get("output_type") == "error":
                    found.append(f"cell {index} (widget): {held.get('ename')}: {held.get('evalue')}"[:500])
    return found


# -- Sphinx ---------------------------------------------------------------------------------------
def setup(app) -> dict:
    """Apply replace_widgets to every notebook MyST-NB renders, right after its outputs are in place.

    MyST-NB has no public hook between execution (or the cache lookup) and rendering, and its render
    plugins are found only through installed entry points; so this wraps the function MyST-NB's Sphinx
    parser calls to open its execution client (myst-nb is pinned; tests/test_site.py fails if the
    wrap stops working: a widget lesson would then show no still and no note).
    """
    import myst_nb.sphinx_ as mystnb_sphinx

    original = mystnb_sphinx.create_client
    if not getattr(original, "_course_stills", False):

        def create_client(*args, **kwargs):
            client = original(*args, **kwargs)
            start = client.start_client

            def start_then_still() -> None:
                start()
                replace_widgets(client.notebook)

            client.start_client = start_then_still
            return client

        create_client._course_stills = True  # type: ignore[attr-defined]
        mystnb_sphinx.create_client = create_client
    return {"parallel_read_safe": True, "parallel_write_safe": True}
