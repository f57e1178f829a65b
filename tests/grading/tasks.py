"""Tiny tasks for the worker-pool test (importable by spawned workers; no heavy imports)."""

import os
import time


def sleepy(seconds: float) -> dict:
    time.sleep(seconds)
    return {"slept": seconds}


def dies() -> dict:
    os._exit(3)
