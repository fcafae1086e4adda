"""The real Snakemake workflow: a tiny end-to-end run in a temporary directory, lint, dry runs,
config errors, and the notebook executed on the tiny run's results."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from byteword.evaluation.reference_vectors import REFERENCES
from byteword.models import FAMILIES
from conftest import save_tiny_llama

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "HF_HUB_OFFLINE": "1"}
IDENTITY = ["experiment", "corpus", "tokenizer", "model", "seed", "config_hash", "code_version"]


def snakemake(*args, cwd=ROOT, check=True, env=None):
    cmd = [str(BIN / "snakemake"), "-s", str(ROOT / "Snakefile"), *args]
    out = subprocess.run(cmd, cwd=cwd, env=env or ENV, capture_output=True, text=True, timeout=900)
    if check and out.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return out


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("tiny")
    save_tiny_llama(work / "tiny_llama")  # the config's pretrained entry reads it from the working directory
    snakemake("--cores", "2", "--configfile", str(ROOT / "tests/tiny_config.yaml"), cwd=work)
    return work / "results"


MODELS = ["bpe", "bytes", "hat", "spacebyte", "megabyte", "hnet", "blt", "tiny_llama"]


def test_tiny_run_writes_tidy_results_with_provenance(tiny_run):
    summary = pd.read_parquet(tiny_run / "summary/enwiki/test_bpb.parquet")
    baselines = {"ngram_seen", "ngram_train", "gzip_ctx", "lzma_ctx", "ppmd_ctx"}
    assert set(summary["model"]) == {*MODELS, *baselines, "gzip", "bz2", "lzma", "ppmd"}
    assert set(summary.loc[summary.kind == "baseline", "model"]) == baselines
    assert summary["n_bytes"].nunique() == 1  # models, baselines and compressors score the very same bytes
    assert summary["value"].between(0.1, 20).all()
    scored = summary[summary["kind"] != "compressor"].set_index("model")
    assert (scored["ci_low"] <= scored["value"]).all() and (scored["value"] <= scored["ci_high"]).all()
    assert (scored["n_docs"] >= 3).all()  # intervals resample documents
    models = summary[summary["kind"] == "model"].set_index("model")
    assert (models[[c for c in IDENTITY if c != "model"]] != "").all().all() and (models["experiment"] == "tiny").all()
    assert (models["flops_per_byte"] > 0).all() and (models["train_flops"] > 0).all()
    parts = models[["params_embedding", "params_encoder", "params_backbone", "params_decoder"]].sum(axis=1)
    assert (parts == models["params_total"]).all()
    assert models.loc["hnet", "lr"] == 0.002 and models.loc["bytes", "lr"] == 0.003  # a model's own lr wins
    assert np.isnan(models.loc["bytes", "bytes_per_chunk"])  # a flat byte model draws no chunks
    assert models.loc["megabyte", "bytes_per_chunk"] == pytest.approx(4, rel=0.1)  # patches of 4, last one short
    assert 1 < models.loc["bpe", "bytes_per_chunk"] < models.loc["hat", "bytes_per_chunk"]  # tokens within words
    # the pretrained model: imported with the training FLOPs its entry gives, its own tokenizer, no training
    assert models.loc["tiny_llama", ["variant", "tokenizer", "train_flops"]].tolist() == ["tiny_llama", "own", 1e12]
    assert np.isnan(models.loc["tiny_llama", "lr"]) and models.loc["tiny_llama", "params_embedding"] == 2 * 300 * 32
    imported = tiny_run / "pretrain/enwiki/tiny_llama/seed0"
    assert (imported / "hf/config.json").exists() and not (imported / "model.safetensors").exists()

    windows = {m: pd.read_parquet(tiny_run / f"evaluate/enwiki/{m}/seed0/windows.parquet") for m in MODELS}
    assert all(w[["doc", "n_bytes"]].equals(windows["bytes"][["doc", "n_bytes"]]) for w in windows.values())

    # every pair of scored rows has a paired difference; a pair and its mirror are exact negatives
    paired = pd.read_parquet(tiny_run / "summary/enwiki/paired_bpb.parquet").set_index(["model_a", "model_b"])
    assert len(paired) == len(scored) * (len(scored) - 1)
    assert (paired["metric"] == "bpb").all()
    assert paired.loc[("hat", "bytes"), "value"] == -paired.loc[("bytes", "hat"), "value"]
    diff = scored.loc["hat", "value"] - scored.loc["bytes", "value"]
    assert paired.loc[("hat", "bytes"), "value"] == pytest.approx(diff, abs=1e-9)

    rendered = (tiny_run / "tables/enwiki/test_bpb.md").read_text()  # the docs' tables, from this Parquet
    assert all(f"| {m} |" in rendered for m in summary["model"].unique())
    paired_md = (tiny_run / "tables/enwiki/paired_bpb.md").read_text()
    assert "| bpe − bytes |" in paired_md and " verdict |" in paired_md.splitlines()[0]

    positions = pd.read_parquet(tiny_run / "summary/enwiki/positions.parquet")
    assert set(positions["model"]) == set(MODELS) and positions.groupby("model")["position"].max().ge(63).all()

    metrics = pd.read_parquet(tiny_run / "pretrain/enwiki/hnet/seed0/metrics.parquet")  # long: a row per metric
    assert {"step", "bytes_seen", "epochs", "train_flops", "lr", "wall_seconds", "metric", "value"} <= set(metrics)
    assert {"train_bpb", "valid_bpb", "train_bytes_per_chunk", "valid_bytes_per_chunk",
            "target_bytes_per_chunk"} <= set(metrics["metric"])
    valid = metrics[metrics["metric"] == "valid_bpb"]
    assert valid["bytes_seen"].iloc[-1] >= 6000 and valid["train_flops"].is_monotonic_increasing

    languages = pd.read_parquet(tiny_run / "summary/enwiki/languages.parquet").set_index(["model", "language"])
    assert set(languages.index) == {(m, lang) for m in [*MODELS, *baselines] for lang in ("en", "bg")}
    assert (languages.groupby("language")["n_bytes"].nunique() == 1).all()  # models and baselines on the same bytes
    paired_languages = pd.read_parquet(tiny_run / "summary/enwiki/paired_languages.parquet")
    assert len(paired_languages) == 2 * len(scored) * (len(scored) - 1)
    # SpaceByte's rule fires at nearly every Cyrillic character (lead bytes count as spaces), once per English word
    assert languages.loc[("spacebyte", "bg"), "bytes_per_chunk"] < 3 < languages.loc[("spacebyte", "en"), "bytes_per_chunk"]

    stats = pd.read_parquet(tiny_run / "tokenizer/enwiki/stats.parquet")
    assert set(stats["tokenizer"]) == {"bytes", "bpe300", "bpe400"}
    bpt = stats[stats.metric == "bytes_per_token"].set_index("tokenizer")["value"]
    assert bpt["bytes"] == 1.0 and 1.0 < bpt["bpe300"] < bpt["bpe400"]

    # static vectors: both readings of every model and the reference rows; contextual ones: every model's main level
    rows = {(m, r) for m in MODELS for r in ("input", "output")} | {(m, "reference") for m in REFERENCES}
    sim = pd.read_parquet(tiny_run / "embeddings/enwiki/word_similarity.parquet")
    assert len(sim) == 2 * (len(rows) + len(MODELS)) and sim.groupby(["dataset", "level"])["n_pairs"].nunique().eq(1).all()
    static = sim[sim["level"] == "static"]
    assert set(zip(static["model"], static["reading"])) == rows
    assert (static.set_index("dataset").loc["wordsim353", "n_pairs"] == 353).all()
    assert (sim[sim["level"] == "contextual"]["n_pairs"] < 353).all()  # only pairs whose words occur in the test split
    assert set(sim.loc[sim["level"] == "contextual", "reading"]) == {"main"}
    known = static.set_index(["model", "dataset"])["known_share"]
    learned = known.index.get_level_values("model").isin(["fasttext", "word2vec"])  # words unseen in training
    assert known[~learned].eq(1).all() and known[learned].lt(1).all()

    next_word = pd.read_parquet(tiny_run / "summary/enwiki/next_word.parquet")
    assert len(next_word) == len(MODELS) * 4 * 3 and (next_word.groupby("bucket")["n"].nunique() == 1).all()
    assert (next_word["n_docs"].dropna() >= 2).all()  # intervals resample articles
    paired_next = pd.read_parquet(tiny_run / "summary/enwiki/paired_next_word.parquet")
    assert set(paired_next["metric"]) == {"next_word", "word_bytes", "word_bpb"}
    assert (paired_next.groupby(["bucket", "metric"]).size() == len(MODELS) * (len(MODELS) - 1)).all()
    hits = next_word[next_word["metric"] != "word_bpb"]
    assert hits["value"].between(0, 1).all()
    wide = next_word.pivot_table(index=["model", "bucket"], columns="metric", values="value")
    assert (wide["next_word"] <= wide["word_bytes"]).all()  # ending the word is one more condition

    emb = {n: pd.read_parquet(tiny_run / f"embeddings/enwiki/{n}.parquet")
           for n in ("analogy", "character_probe", "typo_robustness", "embedding_geometry", "sentence_probe")}
    for name in ("analogy", "character_probe", "typo_robustness"):
        assert set(zip(emb[name]["model"], emb[name]["reading"])) == rows, name
    assert set(emb["analogy"]["group"]) == {"all", "semantic", "syntactic"} and emb["analogy"]["value"].between(0, 1).all()
    assert emb["analogy"].groupby("group")["n_questions"].nunique().eq(1).all()  # every row on the same questions
    macro = emb["character_probe"].query("letter == 'macro'").set_index(["model", "reading", "vectors"])["value"]
    assert macro.xs("random control", level="vectors").lt(0.4).all()
    assert macro.loc[("random", "reference", "model")] < 0.4 < macro.loc[("bag_of_bytes", "reference", "model")]
    typo = emb["typo_robustness"]
    assert (typo["n_variants"] > 20).all() and typo.query("metric == 'top1'")["value"].between(0, 1).all()
    geometry = emb["embedding_geometry"]
    assert set(geometry["level"]) == {"static", "contextual", "sentence"} and geometry["value"].notna().all()
    assert set(zip(geometry["model"], geometry["reading"])) == rows | {(m, "main") for m in MODELS}
    probe = emb["sentence_probe"]
    assert set(probe["model"]) == {*MODELS, "bag_of_bytes"} and (probe["n"] == 200).all()

    noise = pd.read_parquet(tiny_run / "summary/enwiki/noise.parquet").set_index(["metric", "model", "perturbation"])
    noise = noise.sort_index()
    perturbations = ("clean", "all_caps", "ant_speak", "word_noise_10", "word_noise_20")
    assert set(noise.loc["bpb"].index) == {(m, p) for m in [*MODELS, *baselines] for p in perturbations}
    assert set(noise.loc["bpb_ratio"].index) == {(m, p) for m in [*MODELS, *baselines] for p in perturbations[1:]}
    bpb, ratio = noise.loc["bpb"], noise.loc["bpb_ratio"]
    clean, ant = bpb.xs("clean", level="perturbation"), bpb.xs("ant_speak", level="perturbation")
    assert (ant["n_bytes"] > clean["n_bytes"]).all()
    ant_ratio = ratio.xs("ant_speak", level="perturbation")["value"]  # one seed: each row's own two numbers
    assert ant_ratio.to_numpy() == pytest.approx((ant["value"] / clean["value"]).loc[ant_ratio.index].to_numpy())
    assert noise.loc["bpb_shift", "ci_low"].notna().all()
    paired_noise = pd.read_parquet(tiny_run / "summary/enwiki/paired_noise.parquet")
    by_metric = paired_noise.groupby("metric").size()
    assert by_metric["bpb"] == len(perturbations) * len(scored) * (len(scored) - 1)
    assert by_metric["bpb_shift"] == (len(perturbations) - 1) * len(scored) * (len(scored) - 1)
    assert paired_noise["value"].notna().all()

    under = pd.read_parquet(tiny_run / "summary/enwiki/undertrained.parquet")
    assert set(under["model"]) == {"bpe"} and set(under["indicator"]) == {"input_norm_low", "output_norm"}
    assert under["value"].between(0, 1).all() and (under["n_tokens"] == 299).all()  # 300 ids, BOS left out

    for fig in ["training_curves", "test_bpb", "tokenizer_stats", "word_similarity", "pareto", "parameters",
                "bytes_per_chunk", "languages", "noise", "undertrained_tokens", "next_word", "analogy",
                "character_probe", "typo_robustness", "embedding_geometry", "sentence_probe", "paired_bpb",
                "bpb_by_position"]:
        assert (tiny_run / f"figures/enwiki/{fig}.png").stat().st_size > 10_000


def test_rerun_has_nothing_to_do(tiny_run):
    out = snakemake("-n", "--configfile", str(ROOT / "tests/tiny_config.yaml"), cwd=tiny_run.parent)
    assert "Nothing to be done" in out.stdout + out.stderr


def planned_jobs(out) -> dict[str, int]:
    """The job counts of a dry run's "Job stats" table, by rule (the target rule ``all`` left out)."""
    table = (out.stdout + out.stderr).split("Job stats:")[1].split("total")[0]
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", table, re.M))
    return {rule: int(n) for rule, n in counts.items() if rule != "all"}


def test_a_config_edit_reruns_only_the_jobs_that_read_it(tiny_run, tmp_path):
    cfg = yaml.safe_load((ROOT / "tests/tiny_config.yaml").read_text())
    cfg["evaluation"]["next_word"]["positions_per_bucket"] = 10  # read by the next-word scoring alone
    cfg["embeddings"]["whiten_sentences"] = True  # read by the sentence probe alone
    edited = tmp_path / "edited.yaml"
    edited.write_text(yaml.safe_dump(cfg, sort_keys=False))  # params compare dicts in their key order
    out = snakemake("-n", "--configfile", str(edited), cwd=tiny_run.parent)
    assert planned_jobs(out) == {"evaluate_next_word": len(MODELS), "summarize_next_word": 1, "plot_next_word": 1,
                                 "sentence_probe": 1, "plot_sentence_probe": 1, "render_table": 3}


def test_report_builds(tiny_run):
    snakemake("--configfile", str(ROOT / "tests/tiny_config.yaml"), "--report", "report.html", cwd=tiny_run.parent)
    assert (tiny_run.parent / "report.html").stat().st_size > 50_000


def test_notebook_runs_on_the_results(tiny_run, tmp_path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / "notebooks/results.ipynb", as_version=4)
    os.environ["BYTEWORD_RESULTS"] = str(tiny_run)
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        del os.environ["BYTEWORD_RESULTS"]
    assert (tmp_path / "test_bpb_from_notebook.png").exists()


def test_lint_is_clean():
    out = snakemake("--lint", check=False)
    assert out.returncode == 0, out.stdout + out.stderr


def test_default_config_dry_run_plans_every_stage(tmp_path):
    out = snakemake("-n", "--configfile", str(ROOT / "config.yaml"), cwd=tmp_path)
    for rule in ["prepare_corpus", "train_tokenizer", "tokenizer_stats", "pretrain", "evaluate_bpb", "baselines",
                 "evaluate_languages", "summarize_bpb", "extract_embeddings", "word_similarity", "plot_test_bpb",
                 "plot_training_curves", "plot_pareto", "plot_parameters", "plot_bytes_per_chunk", "evaluate_noise",
                 "undertrained_tokens", "concat_tables", "plot_noise", "plot_undertrained_tokens", "evaluate_next_word",
                 "embedding_lexicon", "analogy", "character_probe", "typo_robustness", "embedding_geometry",
                 "sentence_probe", "plot_next_word", "plot_sentence_probe", "reference_vectors", "summarize_noise",
                 "summarize_languages", "summarize_next_word"]:
        assert f"rule {rule}:" in out.stdout


def test_default_config_trains_every_family_but_blt():
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())  # BLT runs in the tiny run and in cpu_full.yaml
    # pretrained models need a network: the tiny run imports a local one, configs/pretrained.yaml public ones
    assert {m["family"] for m in cfg["models"].values()} == set(FAMILIES) - {"blt", "pretrained"}


def test_cpu_full_config_dry_run_trains_every_family_compute_matched(tmp_path):
    out = snakemake("-n", "--configfile", str(ROOT / "configs/cpu_full.yaml"), cwd=tmp_path)
    assert re.search(r"^pretrain\s+13$", out.stdout, re.M)
    assert re.search(r"^pretrain_upstream\s+2$", out.stdout, re.M)  # BLT's entropy models
    cfg = yaml.safe_load((ROOT / "configs/cpu_full.yaml").read_text())
    assert {m["family"] for m in cfg["models"].values()} == set(FAMILIES) - {"pretrained"}  # offline
    assert {m.get("pooling") for m in cfg["models"].values()} >= {"word_token", "mean", "cross_attention", "multi"}


@pytest.mark.parametrize("extension, new_models, imports", [("ablation.yaml", 8, 0), ("lr_sweep.yaml", 14, 0),
                                                              ("pretrained.yaml", 0, 2)])
def test_extension_configs_add_only_their_models_to_the_demo(tmp_path, extension, new_models, imports):
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")  # the demo's config, which they extend
    out = snakemake("-n", "--configfile", str(ROOT / "configs" / extension), cwd=tmp_path)
    demo = len(yaml.safe_load((ROOT / "config.yaml").read_text())["models"])
    assert re.search(rf"^pretrain\s+{demo + new_models}$", out.stdout, re.M)
    assert imports == 0 or re.search(rf"^import_pretrained\s+{imports}$", out.stdout, re.M)
    assert not (tmp_path / "results").exists()  # nothing downloaded in a dry run


def test_a_pretrained_model_is_imported_once_and_scored_on_the_first_seed(tmp_path):
    path = _config_with(tmp_path, lambda c: c.update(seeds=[0, 1]))
    out = snakemake("-n", "--configfile", str(path), cwd=tmp_path)
    jobs, trained = planned_jobs(out), len(MODELS) - 1  # every model but the imported one, on both seeds
    assert jobs["import_pretrained"] == 1 and jobs["pretrain"] == 2 * trained
    assert jobs["evaluate_bpb"] == jobs["extract_embeddings"] == 2 * trained + 1
    assert "results/pretrain/enwiki/tiny_llama/seed1" not in out.stdout


def _config_with(tmp_path, edit):
    cfg = yaml.safe_load((ROOT / "tests/tiny_config.yaml").read_text())
    edit(cfg)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.parametrize("edit, needle", [
    (lambda c: c["training"].update(batch_sise=4), "batch_sise"),  # the schema
    (lambda c: c["models"]["bpe"].update(tokenizer="bpe999"), "bpe999"),  # the rules' own checks
    (lambda c: c["training"].update(train_flops=1e12), "flops_per_byte"),  # a budget needs its FLOPs/byte target
])
def test_config_errors_stop_before_any_job_and_name_the_key(tmp_path, edit, needle):
    out = snakemake("-n", "--configfile", str(_config_with(tmp_path, edit)), cwd=tmp_path, check=False)
    assert out.returncode != 0
    assert needle in out.stdout + out.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("edit, needle", [
    (lambda c: c["models"]["hat"]["encoder"].update(d_modle=8), "d_modle"),
    (lambda c: c["models"]["bytes"].update(family="lstm"), "lstm"),
    (lambda c: c["models"]["bytes"]["backbone"].update(d_model="big"), "big"),
    (lambda c: c["models"]["bytes"].update(d_model=64), "d_model"),  # sizes live under backbone
    (lambda c: c["models"]["megabyte"].update(pooling="mean"), "pooling"),  # a key its family does not read
    (lambda c: c["models"]["hat"].update(pooling="max"), "max"),
    # a pretrained entry takes a path and its training FLOPs only: byteword neither trains nor sizes it
    (lambda c: c["models"]["tiny_llama"].update(lr=0.01), "'lr' was unexpected"),
    (lambda c: c["models"]["tiny_llama"].update(backbone=c["models"]["bytes"]["backbone"]), "'backbone' was unexp"),
    (lambda c: c["models"]["tiny_llama"].pop("path"), "'path' is a required property"),
])
def test_the_schema_names_the_bad_key(edit, needle):
    """The schema the workflow validates its config with at start (the test above shows that a refusal stops
    it before any job), applied directly: no Snakemake process per case."""
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    cfg = yaml.safe_load((ROOT / "tests/tiny_config.yaml").read_text())
    edit(cfg)
    with pytest.raises(WorkflowError) as refused:
        validate(cfg, str(ROOT / "workflow/schemas/config.schema.yaml"))
    assert needle in str(refused.value)


def test_conda_env_repeats_the_lock_file():
    lock = {l.strip() for l in (ROOT / "requirements.lock").read_text().splitlines() if l.strip() and not l.startswith("#")}
    env = yaml.safe_load((ROOT / "envs/byteword.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert {p for p in pip if "==" in p} == lock
