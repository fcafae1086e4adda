"""The scale-out path without a cluster: the full config's DAG offline, the SLURM profile submitting
through stand-in sbatch/sacct scripts that record what they receive, and the GPU-hours estimate."""

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from byteword.__main__ import main
from byteword.corpus import CorpusConfig, CorpusError

from conftest import FAMILY_ENTRIES
from test_workflow import ENV, ROOT, snakemake

FULL = str(ROOT / "configs/full.yaml")
SLURM = str(ROOT / "profiles/slurm")
# Stand-ins for the SLURM commands the executor plugin calls. sbatch records its flags and returns
# job ids 1, 2, ...; sacct reports every job COMPLETED, yet no outputs appear (nothing ran), so each
# retry is resubmitted and shows the runtime it asks for; sacctmgr knows the profile's account.
STUBS = {
    "sbatch": 'echo "$*" >> "$STUB_LOG/sbatch.log"\nwc -l < "$STUB_LOG/sbatch.log" | tr -d " "',
    "sacct": 'n=$(wc -l < "$STUB_LOG/sbatch.log" 2>/dev/null || echo 0)\n'
             'i=1; while [ "$i" -le "$n" ]; do echo "$i|COMPLETED"; i=$((i+1)); done',
    "sacctmgr": "echo your_account",
    **{name: f'echo "$*" >> "$STUB_LOG/{name}.log"' for name in ("squeue", "scancel", "sinfo", "sshare", "scontrol")},
}


def stub_env(tmp_path: Path) -> dict:
    bin_dir = tmp_path / "stub_bin"
    bin_dir.mkdir()
    for name, body in STUBS.items():
        path = bin_dir / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return {**ENV, "PATH": f"{bin_dir}{os.pathsep}{ENV['PATH']}", "STUB_LOG": str(tmp_path)}


def test_full_config_dry_runs_offline_with_the_slurm_profile(tmp_path):
    env = stub_env(tmp_path)
    cmd = [str(Path(sys.executable).parent / "snakemake"), "-s", str(ROOT / "Snakefile"), "-n", "--profile", SLURM,
           "--configfile", FULL]
    out = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert re.search(r"^pretrain\s+150$", out.stdout, re.M)  # 5 corpora x 10 models x 3 seeds
    assert re.search(r"^import_pretrained\s+10$", out.stdout, re.M)  # 5 corpora x 2 pretrained models, one seed
    assert re.search(r"^prepare_corpus\s+5$", out.stdout, re.M)
    assert not (tmp_path / "results").exists()  # nothing downloaded, nothing written: no network needed
    on_gpu = [line for line in out.stdout.splitlines() if "gpu=1" in line]
    pretrain = [line for line in on_gpu if "runtime=240" in line]
    assert len(pretrain) == 150 and all("mem_mb=64000" in line for line in pretrain)
    # bpb, languages, noise, next word and embedding extraction run the model: each on one GPU too, for the
    # trained runs and for the two pretrained models (on one seed each)
    assert len(on_gpu) - len(pretrain) == (150 + 5 * 2) * 5
    imports = [line for line in out.stdout.splitlines() if "rule import_pretrained" in line]
    assert imports and not any("gpu=1" in line for line in imports)
    assert all("slurm_partition=YOUR_GPU_PARTITION" in line for line in on_gpu)  # none lands on the CPU partition
    assert not (tmp_path / "sbatch.log").exists()  # a dry run submits nothing


def test_slurm_profile_submits_gpus_and_more_time_on_each_attempt(tmp_path):
    """A real (not dry) run of one tiny pretrain job: its inputs are made here first, then the training
    job goes to the stand-in sbatch, whose outputs never appear, and is retried with runtime x attempt."""
    (tmp_path / "gpus.yaml").write_text("training:\n  gpus_per_job: 2\n  runtime_minutes: 30\n")
    snakemake("results/encoded/enwiki/train/encoded.json", "--cores", "1", "--configfile",
              str(ROOT / "tests/tiny_config.yaml"), "gpus.yaml", cwd=tmp_path)
    cmd = [str(Path(sys.executable).parent / "snakemake"), "-s", str(ROOT / "Snakefile"), "--profile", SLURM,
           "--configfile", str(ROOT / "tests/tiny_config.yaml"), "gpus.yaml", "--retries", "1", "--latency-wait", "1",
           "--slurm-init-seconds-before-status-checks", "1", "results/pretrain/enwiki/bytes/seed0/model.safetensors"]
    out = subprocess.run(cmd, cwd=tmp_path, env=stub_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert out.returncode != 0  # the stand-in cluster runs nothing
    calls = (tmp_path / "sbatch.log").read_text().splitlines()
    assert len(calls) == 2, out.stdout[-3000:] + out.stderr[-3000:]
    for attempt, call in enumerate(calls, start=1):
        assert "--gpus=2" in call and "--cpus-per-gpu=8" in call and "--mem 4000" in call
        assert f"-t {30 * attempt} " in call and f"--attempt {attempt}" in call
        assert "-A YOUR_ACCOUNT" in call and "-p YOUR_GPU_PARTITION" in call
        assert "slurm_extra" not in call and "results/logs/slurm/rule_pretrain/" in call
    assert "torchrun --standalone --nproc_per_node 2 -m byteword train" in out.stdout + out.stderr


def test_gpu_hours_command_prints_per_model_cost_and_total(capsys):
    assert main(["gpu-hours", "--configfile", FULL, "--mfu", "0.3", "--gpu-tflops", "989"]) == 0
    printed = capsys.readouterr().out
    assert "150 training jobs" in printed and "hnet" in printed
    # 1e18 FLOPs / (0.3 * 989e12 FLOP/s) = 0.936 h per job, 150 jobs
    assert "0.936" in printed and "total: 140.4 GPU-hours" in printed
    with pytest.raises(ValueError, match="mfu"):
        main(["gpu-hours", "--configfile", FULL, "--mfu", "1.5"])


def test_gpu_hours_take_each_models_measured_mfu_by_name_then_family(tmp_path, capsys):
    from byteword.budget import gpu_hours

    config = {"corpora": {"c": {}}, "seeds": [0], "training": {"train_flops": 3.6e18},
              "models": {k: FAMILY_ENTRIES[k] for k in ("bytes", "bpe", "hat_mean", "megabyte")}}
    measured = pd.DataFrame({"model": ["bytes", "hat", "hnet"], "family": ["transformer", "hierarchical", "hnet"],
                             "mfu": [0.4, 0.1, None]})
    jobs = gpu_hours(config, mfu=0.3, gpu_tflops=1000.0, measured=measured).set_index("model")
    # 3.6e18 FLOPs / (MFU · 1e15 FLOP/s) / 3600 s = 1 / MFU hours
    assert jobs["gpu_hours"].to_dict() == pytest.approx({"bytes": 2.5, "bpe": 2.5, "hat_mean": 10.0,
                                                         "megabyte": 1 / 0.3})
    assert jobs["mfu_source"].to_dict() == {"bytes": "measured (bytes)", "bpe": "measured (bytes)",
                                            "hat_mean": "measured (hat)", "megabyte": "assumed"}
    table = tmp_path / "throughput_gpu.parquet"
    measured.to_parquet(table)
    assert main(["gpu-hours", "--configfile", FULL, "--mfu-from", str(table)]) == 0
    assert f"each model's MFU from {table}" in capsys.readouterr().out


def test_gpu_hours_add_the_job_of_an_upstream_model():
    from byteword.budget import gpu_hours

    config = {"corpora": {"c": {}}, "seeds": [0], "training": {"train_flops": 3.6e18, "context_bytes": 128},
              "models": {"blt": FAMILY_ENTRIES["blt"]}}
    jobs = gpu_hours(config).set_index("model")
    assert list(jobs.index) == ["blt_entropy", "blt"]  # the entropy model trains first, on its own budget
    # its byte transformer (width 16, one layer) over a 128-byte window: 24·16² + 4·128·16 per byte, plus the head
    per_byte = 24 * 16**2 + 4 * 128 * 16 + 2 * 16 * 256
    assert jobs.loc["blt_entropy", "train_flops"] == 3 * per_byte * 4000
    assert jobs.loc["blt", "train_flops"] == 3.6e18


def test_url_corpus_without_a_checksum_is_refused():
    with pytest.raises(CorpusError, match="sha256"):
        CorpusConfig("enwik8", {"kind": "url", "url": "http://mattmahoney.net/dc/enwik8.zip"})
