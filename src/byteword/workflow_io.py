"""Small helpers for the Snakemake script adapters: send a job's output into its log file, load its model."""

from __future__ import annotations

import logging
import sys
from pathlib import Path


def log_to(path: str) -> None:
    """Redirect stdout, stderr and logging of this job into ``path`` (the rule's ``log:``)."""
    stream = open(path, "w", buffering=1)
    sys.stdout = sys.stderr = stream
    logging.basicConfig(stream=stream, level=logging.INFO, force=True,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")


def load_job_model(smk):
    """The start of every adapter that runs a trained model: send the job's output to its log, use its
    threads, and load the model of ``input.meta``'s folder onto the job's device ("cuda" when the job
    holds a GPU, its ``gpu`` resource; else "cpu")."""
    import torch

    import byteword

    log_to(smk.log[0])
    torch.set_num_threads(smk.threads)
    return byteword.load(Path(smk.input.meta).parent, device="cuda" if getattr(smk.resources, "gpu", 0) else "cpu")
