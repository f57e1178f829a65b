"""Code that runs inside the sandbox (copied into its read-only package folder, never imported here).

* ``launch.py``: the kernel's entry point: resource limits, the file-access audit hook, the
  heavy imports, then ipykernel.
* ``client.py``: becomes the sandbox's ``autograder/__init__.py``: ``check`` runs the probe and
  reports to the grader's judge.

Both read their settings from ``sandbox.json`` next to them (written by the grader).
"""
