"""The real Snakemake workflow: a tiny end-to-end run in a temporary directory, lint, dry runs,
config errors, and the notebook executed on the tiny run's results."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "HF_HUB_OFFLINE": "1"}
IDENTITY = ["experiment", "corpus", "tokenizer", "model", "seed", "config_hash", "code_version"]


def snakemake(*args, cwd=ROOT, check=True):
    cmd = [str(BIN / "snakemake"), "-s", str(ROOT / "Snakefile"), *args]
    out = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=900)
    if check and out.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return out


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("tiny")
    snakemake("--cores", "2", "--configfile", str(ROOT / "tests/tiny_config.yaml"), cwd=work)
    return work / "results"


def test_tiny_run_writes_tidy_results_with_provenance(tiny_run):
    summary = pd.read_parquet(tiny_run / "summary/enwiki/test_bpb.parquet")
    assert set(summary["model"]) == {"bpe", "bytes", "hat", "gzip", "bz2", "lzma"}
    assert summary["n_bytes"].nunique() == 1  # models and compressors see the very same bytes
    assert summary["value"].between(0.1, 20).all()
    models = summary[summary["kind"] == "model"]
    assert (models["ci_low"] <= models["value"]).all() and (models["value"] <= models["ci_high"]).all()
    assert (models[IDENTITY] != "").all().all() and (models["experiment"] == "tiny").all()
    assert (models["flops_per_byte"] > 0).all()

    windows = {m: pd.read_parquet(tiny_run / f"evaluate/enwiki/{m}/seed0/windows.parquet") for m in ["bpe", "bytes", "hat"]}
    assert windows["bpe"]["n_bytes"].tolist() == windows["bytes"]["n_bytes"].tolist() == windows["hat"]["n_bytes"].tolist()

    metrics = pd.read_parquet(tiny_run / "pretrain/enwiki/hat/seed0/metrics.parquet")
    assert {"step", "bytes_seen", "epochs", "train_flops", "train_bpb", "valid_bpb", "lr", "wall_seconds"} <= set(metrics)
    assert metrics["bytes_seen"].iloc[-1] >= 6000

    stats = pd.read_parquet(tiny_run / "tokenizer/enwiki/stats.parquet")
    assert set(stats["tokenizer"]) == {"bytes", "bpe300", "bpe400"}
    bpt = stats[stats.metric == "bytes_per_token"].set_index("tokenizer")["value"]
    assert bpt["bytes"] == 1.0 and 1.0 < bpt["bpe300"] < bpt["bpe400"]

    sim = pd.read_parquet(tiny_run / "embeddings/enwiki/word_similarity.parquet")
    assert len(sim) == 6 and sim.groupby("dataset")["n_pairs"].nunique().eq(1).all()
    assert sim.set_index("dataset").loc["wordsim353", "n_pairs"].iloc[0] == 353

    for fig in ["training_curves", "test_bpb", "tokenizer_stats", "word_similarity"]:
        assert (tiny_run / f"figures/enwiki/{fig}.png").stat().st_size > 10_000


def test_rerun_has_nothing_to_do(tiny_run):
    out = snakemake("-n", "--configfile", str(ROOT / "tests/tiny_config.yaml"), cwd=tiny_run.parent)
    assert "Nothing to be done" in out.stdout + out.stderr


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
    for rule in ["prepare_corpus", "train_tokenizer", "tokenizer_stats", "pretrain", "evaluate_bpb", "compressors",
                 "summarize_bpb", "extract_embeddings", "word_similarity", "plot_test_bpb", "plot_training_curves"]:
        assert f"rule {rule}:" in out.stdout


def _config_with(tmp_path, edit):
    cfg = yaml.safe_load((ROOT / "tests/tiny_config.yaml").read_text())
    edit(cfg)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.parametrize("edit, needle", [
    (lambda c: c["training"].update(batch_sise=4), "batch_sise"),
    (lambda c: c["models"]["hat"]["encoder"].update(d_modle=8), "d_modle"),
    (lambda c: c["models"]["bytes"].update(family="lstm"), "lstm"),
    (lambda c: c["models"]["bytes"].update(d_model="big"), "big"),
    (lambda c: c["models"]["bpe"].update(tokenizer="bpe999"), "bpe999"),
])
def test_config_errors_stop_before_any_job_and_name_the_key(tmp_path, edit, needle):
    out = snakemake("-n", "--configfile", str(_config_with(tmp_path, edit)), cwd=tmp_path, check=False)
    assert out.returncode != 0
    assert needle in out.stdout + out.stderr
    assert not (tmp_path / "results").exists()


def test_conda_env_repeats_the_lock_file():
    lock = {l.strip() for l in (ROOT / "requirements.lock").read_text().splitlines() if l.strip() and not l.startswith("#")}
    env = yaml.safe_load((ROOT / "envs/byteword.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert {p for p in pip if "==" in p} == lock
