"""Sphinx configuration of the course website (built by book/site.py: ``python3 manage.py book``).

The source folder is the staged copy book/site.py makes (the repository's layout), so paths here
are the repository's: course/, assignments/<day>/, docs/.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for book.stills (this process only)

project = "Attention in Computer Vision"
author = "the course's authors"
html_title = project
root_doc = "index"
language = "en"

extensions = [
    "myst_nb",                 # notebooks and MyST markdown
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax 3 served from _static/mathjax: the site works offline
    "book.stills",             # widgets -> their first view, with a note
    "sphinx.ext.githubpages",  # .nojekyll, so that any GitHub Pages set-up serves _static/ and _images/
]
exclude_patterns = ["README.md", "**/.ipynb_checkpoints"]  # README.md: only included in parts

# -- MyST and MyST-NB -----------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_dmath_double_inline = True          # $$...$$ inside a paragraph is display math, as in JupyterLab
myst_heading_anchors = 3
nb_execution_mode = "cache"              # jupyter-cache, keyed on the code cells: edit one lesson, run one
nb_execution_cache_path = "../cache"     # book/site.py passes its cache folder with -D
nb_execution_in_temp = True              # each lesson in a scratch folder, as a self-learner runs it
nb_execution_raise_on_error = True       # a lesson that raises fails the build
nb_execution_show_tb = True
nb_execution_timeout = 240               # per cell; book/site.py passes its own with -D
nb_execution_excludepatterns = ["assignments/*/*.ipynb"]  # released as they are: the exercises are the reader's
nb_merge_streams = True
nb_render_markdown_format = "myst"

# -- HTML -----------------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_static_path = ["_static"] if (Path(__file__).parent / "_static").is_dir() else []
html_css_files = ["site.css"] if html_static_path else []
html_last_updated_fmt = None
html_show_search_summary = False  # summaries fetch() each result page: refused on file://, so offline
html_context = {"default_mode": "light"}  # without it pydata-sphinx-theme logs a console error on a first visit
html_theme_options = {
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "use_download_button": True,
    "use_fullscreen_button": False,
    "navigation_with_keys": False,
}

# Where the repository lives once published (the GitHub Pages workflow sets it): adds a link to the
# repository and an "open in Colab" button on every notebook page, which opens
# https://colab.research.google.com/github/OWNER/REPO/blob/BRANCH/<the notebook's path in the repository>.
REPOSITORY_URL = os.environ.get("COURSE_REPOSITORY_URL", "").rstrip("/")
if REPOSITORY_URL:
    html_theme_options.update(
        repository_url=REPOSITORY_URL,
        repository_branch=os.environ.get("COURSE_REPOSITORY_BRANCH", "main"),
        path_to_docs="",  # the staged layout is the repository's
        use_repository_button=True,
        launch_buttons={"colab_url": "https://colab.research.google.com"},
    )
