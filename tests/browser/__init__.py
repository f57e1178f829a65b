"""Helpers for the browser tests (tests/test_browser.py): JupyterLab server, Chromium, notebook UI."""
