"""Parts of ``autograder/checks/day7_practicum.py``.

``probes``: the cases and the probes (what enters the sandbox, cut down to what the probes use);
``judge_helpers``: references, typical mistakes and hints (the trusted side only).
"""
