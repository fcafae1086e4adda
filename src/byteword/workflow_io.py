"""Small helpers for the Snakemake script adapters: send a job's output into its log file, pick its device."""

from __future__ import annotations

import logging
import sys


def log_to(path: str) -> None:
    """Redirect stdout, stderr and logging of this job into ``path`` (the rule's ``log:``)."""
    stream = open(path, "w", buffering=1)
    sys.stdout = sys.stderr = stream
    logging.basicConfig(stream=stream, level=logging.INFO, force=True,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")


def job_device(smk) -> str:
    """The job's device: "cuda" when it holds a GPU (its ``gpu`` resource), else "cpu"."""
    return "cuda" if getattr(smk.resources, "gpu", 0) else "cpu"
