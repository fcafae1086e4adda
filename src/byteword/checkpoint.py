"""Self-describing model files and rolling training checkpoints.

Final model: ``model.safetensors`` (safetensors.torch.save_model, which handles tied weights) and
``model.json`` (model config, training config, versions, parameter counts, FLOPs per byte).
Rolling checkpoint: a directory holding ``model.safetensors``, ``optimizer.pt`` (tensors only, loaded
with ``weights_only=True``) and ``state.json`` (step, bytes seen, sampler and torch RNG states as
plain JSON, metrics history, the config and its hash, so a refusal names what changed). It is
written into a temporary directory, flushed to disk, and renamed, so a kill or a crash while writing
leaves the previous checkpoint intact. A checkpoint that cannot be read all the same (a truncated
copy, a full disk) is refused with a ``CheckpointError`` naming the file and the remedy."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_model, save_model

from byteword.provenance import atomic_path, write_json


def save_final(model, meta: dict, out_dir) -> None:
    out_dir = Path(out_dir)
    tmp = atomic_path(out_dir / "model.safetensors")
    save_model(model, str(tmp))
    fsync(tmp)
    os.replace(tmp, out_dir / "model.safetensors")
    write_json(meta, out_dir / "model.json")


CHECKPOINT_FILES = ("model.safetensors", "optimizer.pt", "state.json")


class CheckpointError(RuntimeError):
    """A rolling checkpoint that exists but cannot be read."""


def fsync(path: Path) -> None:
    """Flush a file's (or a directory's entries') data to disk, so a rename never publishes unwritten bytes."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_checkpoint(ckpt_dir, model, optimizer, state: dict) -> None:
    ckpt_dir = Path(ckpt_dir)
    tmp = ckpt_dir.with_name(ckpt_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_model(model, str(tmp / "model.safetensors"))
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    (tmp / "state.json").write_text(json.dumps(state))
    for name in CHECKPOINT_FILES:
        fsync(tmp / name)
    fsync(tmp)
    old = ckpt_dir.with_name(ckpt_dir.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if ckpt_dir.exists():
        os.replace(ckpt_dir, old)
    os.replace(tmp, ckpt_dir)
    fsync(ckpt_dir.parent)  # the renames themselves
    shutil.rmtree(old, ignore_errors=True)


def config_differences(saved: dict, expected: dict, prefix: str = "") -> list[str]:
    """Dotted names of the settings that differ between two nested config dicts."""
    out = []
    for key in sorted(set(saved) | set(expected)):
        a, b = saved.get(key), expected.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += config_differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {a!r} -> {b!r}")
    return out


def load_checkpoint(ckpt_dir, model, optimizer, expected_hash: str, expected_config: dict | None = None
                    ) -> dict | None:
    """Restore model and optimizer in place and return the saved state, or None if there is none.
    A checkpoint written under a different config is refused with a message naming what changed."""
    ckpt_dir = Path(ckpt_dir)
    if not ckpt_dir.exists():
        old = ckpt_dir.with_name(ckpt_dir.name + ".old")  # killed between the two renames
        if not old.exists():
            return None
        ckpt_dir = old
    state = _read(ckpt_dir, "state.json", lambda path: json.loads(path.read_text()))
    if state.get("config_hash") != expected_hash:
        changed = config_differences(state.get("config") or {}, expected_config or {})
        detail = f" (changed: {'; '.join(changed)})" if changed and expected_config is not None else ""
        raise RuntimeError(f"checkpoint {ckpt_dir} was written for config {state.get('config_hash')}, "
                           f"not {expected_hash}{detail}; delete it to start this run afresh")
    _read(ckpt_dir, "model.safetensors", lambda path: load_model(model, str(path)))
    _read(ckpt_dir, "optimizer.pt", lambda path: optimizer.load_state_dict(torch.load(path, weights_only=True)))
    return state


def _read(ckpt_dir: Path, name: str, read):
    """``read(ckpt_dir / name)``, or a ``CheckpointError`` that names the file, what went wrong and the remedy."""
    path = ckpt_dir / name
    try:
        return read(path)
    except Exception as err:  # safetensors, torch, json and the OS each raise their own kind
        raise CheckpointError(
            f"checkpoint file {path} cannot be read ({type(err).__name__}: {err}); the checkpoint is damaged "
            f"(a truncated copy or a full disk, say). Delete {ckpt_dir} to restart this run from its first "
            f"step, or put back an intact copy of it to resume") from err
