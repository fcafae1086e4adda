"""The throughput benchmark runs end to end on CPU at a tiny shape (its numbers are not asserted:
timings belong in docs/scale-out.md, not in tests)."""

from pathlib import Path

import pandas as pd
import pytest
import torch

from byteword import bench, bench_breakdown, bench_table
from byteword.bench_breakdown import OUTSIDE
from byteword.models import build_model, model_config_from_dict
from byteword.train import set_activation_checkpointing
from conftest import SAMPLE

TINY_CONFIG = Path(__file__).parent / "tiny_config.yaml"


def test_bench_measures_every_family_and_the_reference(tmp_path):
    corpus = tmp_path / "train.parquet"
    pd.DataFrame({"text": [SAMPLE * 3] * 4}).to_parquet(corpus)
    shape, entries = bench.config_models(TINY_CONFIG)
    assert "bpe" not in entries and "bytes" in entries  # a model of tokens would need a trained tokenizer
    assert shape == bench.Shape(context_bytes=64, batch_size=4, accum_steps=1)  # the tiny config's training
    shape = bench.Shape(context_bytes=48, batch_size=2, accum_steps=2)
    table = bench.run(corpus, bench.torch.device("cpu"), shape, entries, blocks=3, steps_per_block=1, families=[],
                      generate_bytes=2, matmul_time=True)
    assert list(table["model"]) == [*entries, "llama_reference"]
    # one step is an optimizer step over both micro-batches of 2 windows of up to 48 bytes (a window ends
    # on a character boundary, so a few bytes short where the 48th would cut one)
    assert (table["seconds_per_step"] * table["bytes_per_second"]).between(2 * 2 * 44, 2 * 2 * 48).all()
    assert "error" not in table or table["error"].isna().all()
    assert (table["bytes_per_second"] > 0).all() and (table["train_flops_per_byte"] > 0).all()
    # every model timed in each of the 3 blocks; the FLOP-rate ratio is relative to the byte transformer's
    assert (table["n_blocks"] == 3).all()
    ratio = table.set_index("model")[["flop_rate_ratio", "flop_rate_ratio_min", "flop_rate_ratio_max"]]
    assert (ratio.loc["bytes"] == 1.0).all()
    # every step spends time in matrix products (its share of a step is not asserted: profiled steps are
    # timed apart from the blocks); over that time alone the reference's ratio is 1 again
    assert (table["matmul_seconds_per_step"] > 0).all() and (table["matmul_share"] > 0).all()
    assert table.set_index("model").loc["bytes", "matmul_flop_rate_ratio"] == 1.0
    families = table[table["model"] != "llama_reference"]
    assert (families["generate_bytes_per_second"] > 0).all()
    bench_table.plot(table, tmp_path / "throughput.png")
    assert (tmp_path / "throughput.png").stat().st_size > 10_000


def test_rate_columns_compare_each_block_with_the_reference_in_the_same_block():
    def timed(rates, flops_per_byte):
        return bench.Timed(model=None, step=None, n_bytes=100, row={"train_flops_per_byte": flops_per_byte},
                           rates=rates)

    models = {"bytes": timed([1.0, 2.0, 4.0], 10.0), "other": timed([1.0, 1.0, 8.0], 5.0)}
    bench_table.rate_columns(models)
    row = models["other"].row  # per block: 5·1 / 10·1, 5·1 / 10·2, 5·8 / 10·4
    assert (row["flop_rate_ratio"], row["flop_rate_ratio_min"], row["flop_rate_ratio_max"]) == (0.5, 0.25, 1.0)
    assert row["bytes_per_second"] == 1.0 and row["seconds_per_step"] == 100.0 and row["n_blocks"] == 3


def test_bench_applies_activation_checkpointing(tmp_path):
    corpus = tmp_path / "train.parquet"
    pd.DataFrame({"text": [SAMPLE * 3] * 4}).to_parquet(corpus)
    _, entries = bench.config_models(TINY_CONFIG)
    options = bench.StepOptions(activation_checkpointing=True)
    table = bench.run(corpus, bench.torch.device("cpu"), bench.Shape(48, 2), entries, blocks=1, steps_per_block=1,
                      families=["hat"],
                      generate_bytes=1, options=options)
    assert list(table["model"]) == ["hat"] and (table["bytes_per_second"] > 0).all()
    assert "flop_rate_ratio" not in table  # no byte transformer timed beside it: no ratio
    assert options.suffix == "_activation_checkpointing"
    assert set(table["step"]) == {"eager, activation checkpointing"}


def test_collation_only_times_every_model_without_training(tmp_path):
    corpus = tmp_path / "train.parquet"
    pd.DataFrame({"text": [SAMPLE * 3] * 4}).to_parquet(corpus)
    assert bench.main(["--collation-only", "--config", str(TINY_CONFIG), "--corpus", str(corpus),
                       "--context-bytes", "40", "--out", str(tmp_path)]) == 0
    table = pd.read_parquet(tmp_path / "collation_40.parquet")
    _, entries = bench.config_models(TINY_CONFIG)
    assert list(table["model"]) == list(entries) and (table["collate_bytes_per_second"] > 0).all()
    assert not (tmp_path / "throughput_cpu.parquet").exists()


def test_matmul_columns_count_only_matrix_product_kernels():
    a = torch.randn(64, 64)

    def timed(step):
        return bench.Timed(model=None, step=step, n_bytes=100,
                           row={"train_flops_per_byte": 1.0, "seconds_per_step": 1.0})

    models = {"products": timed(lambda: a @ a), "elementwise": timed(lambda: (a.relu() * 2).exp())}
    bench_table.matmul_columns(models, reference="absent")
    assert models["products"].row["matmul_seconds_per_step"] > 0
    assert models["elementwise"].row["matmul_seconds_per_step"] == models["elementwise"].row["matmul_share"] == 0
    assert "matmul_flop_rate_ratio" not in models["products"].row  # no reference timed: no ratio


def test_breakdown_times_every_level_of_every_family_both_ways(tmp_path):
    corpus = tmp_path / "train.parquet"
    pd.DataFrame({"text": [SAMPLE * 3] * 4}).to_parquet(corpus)
    _, entries = bench.config_models(TINY_CONFIG)
    table = bench.breakdown_table(corpus, bench.Shape(48, 2), entries, [], steps=2)
    levels = table.groupby("model", sort=False)["level"].unique().map(list).to_dict()
    assert levels == {"bytes": ["stack", OUTSIDE], "hat": ["encoder", "backbone", "decoder", OUTSIDE],
                      "spacebyte": ["encoder", "backbone", "decoder", OUTSIDE],
                      "megabyte": ["global_model", "local_model", OUTSIDE],
                      "hnet": ["encoder", "main", "decoder", OUTSIDE],
                      "blt": ["entropy.stack", "encoder", "latent", "decoder", OUTSIDE]}
    blocks = table[table["level"] != OUTSIDE]
    assert (blocks["forward_ms"] > 0).all()
    # every trained level is timed in backward too; BLT's entropy model is frozen, so it has no backward
    frozen = blocks["level"] == "entropy.stack"
    assert (blocks.loc[~frozen, "backward_ms"] > 0).all() and (blocks.loc[frozen, "backward_ms"] == 0).all()
    # the blocks' time fits inside the step: nothing is counted twice
    assert (table.loc[table["level"] == OUTSIDE, "ms"] > 0).all()
    bench_breakdown.plot(table, tmp_path / "breakdown.png")
    assert (tmp_path / "breakdown.png").stat().st_size > 10_000


def test_breakdown_leaves_no_hooks_and_refuses_recomputed_blocks():
    model = build_model(model_config_from_dict("hat", {"family": "hierarchical", "max_word_bytes": 8,
                                                       **{level: {"d_model": 16, "n_layers": 1, "n_heads": 2}
                                                          for level in ("encoder", "backbone", "decoder")}}))
    batch = model.collate([b" a few words", b" and more"])

    def step():
        model(batch).loss.backward()

    def hooked() -> bool:
        return any(m._forward_hooks or m._forward_pre_hooks or m._backward_hooks or m._backward_pre_hooks
                   for m in model.modules())

    bench_breakdown.breakdown("hat", model, step, steps=1)
    assert not hooked()
    set_activation_checkpointing(model, True)  # the backbone's blocks would run their forward twice
    with pytest.raises(ValueError, match="activation checkpointing"):
        bench_breakdown.breakdown("hat", model, step, steps=1)
    assert not hooked()


def test_a_block_belongs_to_the_module_holding_it():
    assert bench_breakdown.level_of("encoder.blocks.1") == "encoder"
    assert bench_breakdown.level_of("encoder.0") == "encoder"  # a plain list of blocks (SpaceByte's encoder)
    assert bench_breakdown.level_of("entropy.stack.blocks.0") == "entropy.stack"
    assert bench_breakdown.level_of("blocks.0") == "model"
    assert bench_breakdown.level_of("sub_blocks.0") == "sub_blocks"  # only a list named blocks is skipped
