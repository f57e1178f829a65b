"""The course as a website: Sphinx + MyST-NB + sphinx-book-theme (see docs/site.md).

    book/conf.py     the Sphinx configuration
    book/site.py     stage the pages, execute the lessons (cached), run Sphinx: ``python -m book.site``
    book/stills.py   ipywidgets outputs -> their first drawn view, still, with a note
    book/pages/      the site's own pages (they include the README's parts, never copy them)
"""
