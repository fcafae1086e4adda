"""Typed per-family configs and the run record: round trips, only a family's own keys, clear refusals."""

import json

import pytest

from byteword.models import ConfigError, model_config_from_dict
from byteword.record import RunRecord, TrainConfig, read_record

from conftest import FAMILY_ENTRIES


@pytest.mark.parametrize("kind", list(FAMILY_ENTRIES))
def test_a_config_survives_its_json_form(kind):
    cfg = model_config_from_dict(kind, FAMILY_ENTRIES[kind])
    again = model_config_from_dict(cfg.name, json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg and type(again) is type(cfg)


def test_a_config_holds_only_its_family_keys():
    flat = model_config_from_dict("bytes", FAMILY_ENTRIES["bytes"]).to_dict()
    assert set(flat) == {"name", "family", "backbone", "lr", "tokenizer", "attention_window"}
    words = model_config_from_dict("hat", FAMILY_ENTRIES["hat"]).to_dict()
    assert {"pooling", "max_word_bytes", "encoder", "decoder"} <= set(words) and "patch_size" not in words


@pytest.mark.parametrize("entry, needle", [
    ({**FAMILY_ENTRIES["megabyte"], "pooling": "mean"}, "no key(s) pooling"),
    ({"family": FAMILY_ENTRIES["hat"]["family"], "encoder": FAMILY_ENTRIES["hat"]["encoder"]}, "needs backbone, decoder"),
    ({**FAMILY_ENTRIES["hat"], "pooling": "max"}, "unknown pooling 'max'"),
    ({"backbone": FAMILY_ENTRIES["bytes"]["backbone"]}, "names no family"),
    ({**FAMILY_ENTRIES["bytes"], "family": "lstm"}, "unknown model family 'lstm'"),
])
def test_bad_entries_are_refused_with_the_model_and_the_key(entry, needle):
    with pytest.raises(ConfigError) as err:
        model_config_from_dict("m", entry)
    assert "model 'm'" in str(err.value) and needle in str(err.value)


def record(kind="hat") -> RunRecord:
    return RunRecord(experiment="e", corpus="c", model=model_config_from_dict(kind, FAMILY_ENTRIES[kind]),
                     training=TrainConfig(context_bytes=64), seed=1, config_hash="abc",
                     flops_per_byte=1.5e5, train_flops=3e9, steps=10, bytes_seen=5000,
                     world_size=1, params={"params_total": 7, "params_embedding": 3}, code_version="v")


def test_a_record_reads_back_from_model_json_to_an_equal_object(tmp_path):
    path = tmp_path / "model.json"
    path.write_text(json.dumps(record().to_json()))
    assert read_record(path) == record()
    assert json.loads(path.read_text())["params_total"] == 7  # parameter counts stay top-level columns
    assert record().identity() == dict(experiment="e", corpus="c", tokenizer="bytes", model="hat", seed=1,
                                       cfg_hash="abc")


def test_a_model_json_in_the_old_flat_form_is_refused_by_name(tmp_path):
    old = record("bytes").to_json()
    sizes = old["model"].pop("backbone")
    old["model"].update(sizes, input="bytes", pooling="word_token")  # every family's keys side by side
    path = tmp_path / "model.json"
    path.write_text(json.dumps(old))
    with pytest.raises(ConfigError, match=f"{path}.*flat config form.*retrain"):
        read_record(path)

