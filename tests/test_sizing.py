"""Compute matching: each family's backbone is sized to a FLOPs-per-byte target, and the bytes to
train follow from the budget, the same for every family."""

import pytest

from byteword.data import split_windows
from byteword.flops import forward_flops_per_byte
from byteword.models import build_model, model_config_from_dict
from byteword.sizing import measure, size_to_flops_per_byte
from byteword.record import TrainConfig
from byteword.train import matched_config

from conftest import FAMILY_ENTRIES, SAMPLE

WINDOWS = split_windows(SAMPLE, 64)


@pytest.mark.parametrize("kind", ["bytes", "bpe", "hat", "megabyte", "hnet"])
def test_backbone_is_sized_to_the_target_within_one_width_step(tokenizer, kind):
    cfg = model_config_from_dict(kind, FAMILY_ENTRIES[kind])
    target = 3 * measure(cfg, WINDOWS, tokenizer)
    sized, achieved = size_to_flops_per_byte(cfg, target, WINDOWS, tokenizer)
    width, heads = sized.backbone.d_model, cfg.backbone.n_heads
    assert achieved == pytest.approx(measure(sized, WINDOWS, tokenizer))
    # no neighbouring width comes closer to the target
    neighbours = [abs(measure(cfg.with_backbone_width(w), WINDOWS, tokenizer) - target)
                  for w in (width - 2 * heads, width + 2 * heads)]
    assert abs(achieved - target) <= min(neighbours)
    assert width > cfg.backbone.d_model


def test_budget_gives_every_family_the_same_bytes_and_its_own_lr(tokenizer):
    tc = TrainConfig(flops_per_byte=2e6, train_flops=6e12, lr=3e-3)
    runs = {}
    for kind in ["bytes", "hat"]:
        entry = {**FAMILY_ENTRIES[kind], **({"lr": 1e-3} if kind == "hat" else {})}
        runs[kind] = matched_config(model_config_from_dict(kind, entry), tc, WINDOWS, tokenizer, seed=0)
    assert runs["bytes"][1].train_bytes == runs["hat"][1].train_bytes == 1_000_000  # 6e12 / (3 · 2e6)
    assert runs["bytes"][1].lr == 3e-3 and runs["hat"][1].lr == 1e-3
    # what the baselines replay before any model is built: the same bytes, not the unused train_bytes default
    assert tc.budget_bytes() == 1_000_000 and TrainConfig(train_bytes=5000).budget_bytes() == 5000


def test_unreachable_target_names_the_model():
    cfg = model_config_from_dict("hat", FAMILY_ENTRIES["hat"])
    with pytest.raises(ValueError, match="'hat'.*above the target"):
        size_to_flops_per_byte(cfg, 1.0, WINDOWS)


def test_hnet_is_sized_at_its_target_chunk_length(tokenizer):
    cfg = model_config_from_dict("hnet", FAMILY_ENTRIES["hnet"])
    model = build_model(cfg)
    drawn = forward_flops_per_byte(model, WINDOWS)
    model.planned_chunk_bytes = 1.0  # a chunk at every byte: the most the backbone can cost
    assert measure(cfg, WINDOWS) < forward_flops_per_byte(model, WINDOWS)
    assert measure(cfg, WINDOWS) != drawn
