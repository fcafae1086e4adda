"""byteword: reproducible experiments comparing BPE, byte-level and hierarchical language models."""

__version__ = "0.1.0"


def load(path, device: str = "cpu"):
    """Load a trained model directory (``model.safetensors`` + ``model.json``) onto ``device`` for scoring and
    generation."""
    from byteword.api import load as _load

    return _load(path, device)
