"""Small helpers for the Snakemake script adapters: send a job's output into its log file."""

from __future__ import annotations

import logging
import sys


def log_to(path: str) -> None:
    """Redirect stdout, stderr and logging of this job into ``path`` (the rule's ``log:``)."""
    stream = open(path, "w", buffering=1)
    sys.stdout = sys.stderr = stream
    logging.basicConfig(stream=stream, level=logging.INFO, force=True,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
