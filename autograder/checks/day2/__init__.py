"""Parts of ``autograder/checks/day2_channel_attention.py``.

``probes``: the cases and the probes (what enters the sandbox, cut down to what the probes use);
``judge_helpers``: references, typical mistakes and hints (the trusted side only).
"""
