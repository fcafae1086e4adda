# Shared names: the swept axes (corpus, tokenizer, model, seed), typed model configs, helpers.
import json
import math
import re

from byteword.models import model_config_from_dict
from byteword.record import MATCHING_KEYS, SCHEDULING_KEYS

EXPERIMENT = config["experiment"]
CORPORA = list(config["corpora"])
SEEDS = [str(s) for s in config["seeds"]]
TOKENIZERS = [f"bpe{v}" for v in config["tokenizers"]["vocab_sizes"]]
MODELS = {name: model_config_from_dict(name, entry) for name, entry in config["models"].items()}
for _m in MODELS.values():
    if _m.tokenizer_name and _m.tokenizer_name not in TOKENIZERS:
        raise ValueError(
            f"model '{_m.name}' reads tokenizer '{_m.tokenizer_name}', which tokenizers.vocab_sizes "
            f"does not train (it trains {', '.join(TOKENIZERS)})"
        )
# a scaling study (config section ``scaling``) trains every model at each budget: each (model, budget) is a
# model of its own, named <model>_c<budget>, with its learning rate and compute-matching keys (byteword.scaling)
SCALING = config.get("scaling")
POINTS = {}
if SCALING:
    from byteword.scaling import study_points

    POINTS = study_points(MODELS, SCALING, config["training"])
    MODELS = {name: point.config for name, point in POINTS.items()}
# the models byteword trains, and the outside pretrained ones it imports and scores on the first seed alone
# (scoring them again would give the same numbers)
TRAINED = [m for m, cfg in MODELS.items() if not cfg.imported]
IMPORTED = [m for m, cfg in MODELS.items() if cfg.imported]
if not TRAINED:
    raise ValueError("models: every model is an outside one that byteword imports; list at least one model "
                     "byteword trains (the baselines count the bytes the first one reads)")
ENV = "../envs/byteword.yaml"
# the training section as the training loop reads it: without the keys that only schedule jobs, so
# moving a run to more GPUs (same global batch) neither reruns it nor orphans its checkpoint
TRAINING = {k: v for k, v in config["training"].items() if k not in SCHEDULING_KEYS}
EVALUATION = config["evaluation"]
EMBEDDINGS = config["embeddings"]
NOISE = EVALUATION["noise"]["perturbations"]
# evaluation windows advance by stride_bytes (default half the context); resolved here, so every rule reads one value
_CONTEXT = config["training"]["context_bytes"]
EVALUATION["stride_bytes"] = EVALUATION["stride_bytes"] or _CONTEXT // 2
if EVALUATION["stride_bytes"] > _CONTEXT:
    raise ValueError(f"evaluation.stride_bytes {EVALUATION['stride_bytes']} exceeds training.context_bytes "
                     f"{_CONTEXT}: a window cannot score more bytes than it holds")
# the rules that run a trained model score on one GPU whenever training runs on GPUs; a resource, not a
# param, so moving to GPUs reruns nothing (workflow_io.load_job_model reads it)
EVAL_GPU = min(1, config["training"]["gpus_per_job"])


def settings(section, *keys):
    """The named keys of a config section, as a rule's params (``params: **settings(...)``): each rule
    holds exactly what its script reads, so editing any other key reruns none of its jobs."""
    return {key: section[key] for key in keys}


def one_of(names):
    """A wildcard constraint matching exactly ``names`` (nothing at all when there are none)."""
    return "|".join(re.escape(n) for n in names) if names else "(?!)"


wildcard_constraints:
    corpus="|".join(CORPORA),
    model=one_of(MODELS),
    seed=r"\d+",
    tokenizer=r"bpe\d+",


def run_dir(stage):
    """results/<stage>/<corpus>/<model>/seed<seed>/: one folder per trained or evaluated model."""
    return f"results/{stage}/{{corpus}}/{{model}}/seed{{seed}}/"


def model_tokenizer(wildcards):
    """The tokenizer.json a model reads, or nothing for byte-level models."""
    name = MODELS[wildcards.model].tokenizer_name
    return f"results/tokenizer/{wildcards.corpus}/{name}/tokenizer.json" if name else []


def model_weights(wildcards):
    """What a job that runs a model reads besides its model.json: the trained weights, or the folder an
    imported model was saved to."""
    name = "hf" if MODELS[wildcards.model].imported else "model.safetensors"
    return run_dir("pretrain").format(**wildcards) + name


def model_upstream(wildcards):
    """The record of the trained upstream model a model reads (``ModelConfig.upstream``), or nothing."""
    return run_dir("upstream").format(**wildcards) + "model.json" if MODELS[wildcards.model].upstream else []


def train_spec(wildcards, model, training):
    """The JSON a training job is given: experiment, corpus, the typed model config and the training section."""
    return json.dumps({"experiment": EXPERIMENT, "corpus": wildcards.corpus, "model_name": model.name,
                       "model": model.to_dict(), "training": training}, sort_keys=True)


def training_of(model):
    """The training section a model is trained under: a scaling point's with its budget's compute matching."""
    return {**TRAINING, **POINTS[model].training} if model in POINTS else TRAINING


def upstream_spec(wildcards):
    """The training job of a model's upstream model: its own byte budget, never compute-matched."""
    up = MODELS[wildcards.model].upstream
    training = {k: v for k, v in TRAINING.items() if k not in MATCHING_KEYS}
    return train_spec(wildcards, up.model, {**training, "train_bytes": up.train_bytes})


def train_device(wildcards, resources):
    return "cuda" if resources.gpu >= 1 else "cpu"


def train_launcher(wildcards, resources):
    """torchrun with one process per GPU when a pretrain job has several GPUs, else plain python."""
    if resources.gpu > 1:
        return f"torchrun --standalone --nproc_per_node {resources.gpu}"
    return "python"


def per_model(pattern, models=None):
    """``pattern`` for every run of ``models`` (default: all): each trained model at every seed, each imported
    one at the first."""
    return [path for m in models or list(MODELS)
            for path in expand(pattern, corpus="{corpus}", model=m, seed=SEEDS[:1] if MODELS[m].imported else SEEDS,
                               allow_missing=True)]


# the models that read a tokenizer's ids (their input and output embeddings are scored for under-training)
TOKEN_MODELS = [m.name for m in MODELS.values() if m.tokenizer_name]
# one trained model's record: the context, batch and byte budget that every model of the config shares (the
# first trained model's; in a scaling study, its point at the budget nearest own_lr_budget, a fixed anchor: the bytes
# ngram_seen counts do not move when a budget is added)
_FIRST = TRAINED[0]
if SCALING:
    _FIRST = min((p for p in POINTS.values() if not p.sweep and p.model == POINTS[_FIRST].model),
                 key=lambda p: abs(math.log(p.budget / SCALING["own_lr_budget"]))).name
FIRST_RECORD = f"results/pretrain/{{corpus}}/{_FIRST}/seed{SEEDS[0]}/model.json"


def all_outputs():
    if SCALING:  # a scaling study: its fits, table and figure (the demo's evaluations are not run)
        return expand([f"results/{o}" for o in SCALING_OUTPUTS], corpus=CORPORA)
    return (
        expand("results/figures/{corpus}/{figure}.png", corpus=CORPORA, figure=FIGURE_INPUTS)
        + expand("results/summary/{corpus}/test_bpb.parquet", corpus=CORPORA)
        + expand("results/tables/{corpus}/{table}.md", corpus=CORPORA, table=RENDERED_TABLES)
    )
