"""Parts of ``autograder/checks/day3_spatial_cbam.py``.

``probes``: the cases and the probes (what enters the sandbox, cut down to what the probes use);
``judge_helpers``: references, typical mistakes and hints (the trusted side only).
"""
