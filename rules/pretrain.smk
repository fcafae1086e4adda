# The training split as memory maps (bytes and document offsets), read once per corpus rather than
# in every training job.
rule encode_corpus:
    input:
        train="results/corpus/{corpus}/train.parquet",
    output:
        stream="results/encoded/{corpus}/train/bytes.u8",
        doc_starts="results/encoded/{corpus}/train/doc_starts.npy",
        meta="results/encoded/{corpus}/train/encoded.json",
    log:
        "results/logs/encode_corpus/{corpus}.log",
    benchmark:
        "results/benchmarks/encode_corpus/{corpus}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=16000,
        runtime=120,
    shell:
        "python -m byteword encode --corpus-dir $(dirname {input.train}) --split train"
        " --out-dir $(dirname {output.meta}) > {log} 2>&1"


# The training command of every model, run as a shell rule so the same command runs under torchrun (one
# process per GPU) when the job has more than one GPU. Rolling checkpoints live in results/checkpoints/,
# outside the declared outputs (Snakemake deletes those before a rerun), so a killed job resumes where it
# stopped.
TRAIN_COMMAND = (
    "{params.launcher} -m byteword train --spec {params.spec:q} --seed {wildcards.seed}"
    " --corpus-dir results/corpus/{wildcards.corpus} --encoded-dir $(dirname {input.encoded})"
    " {params.inputs_arg}"
    " --out-dir $(dirname {output.model}) --checkpoint-dir {params.checkpoint_dir}"
    " --threads {threads} --device {params.device} > {log} 2>&1"
)
TRAIN_RESOURCES = dict(
    gpu=config["training"]["gpus_per_job"],
    mem_mb=config["training"]["mem_mb"],
    runtime=lambda wc, attempt: config["training"]["runtime_minutes"] * attempt,  # retries: more time
)


# The smaller model a model reads, trained first on the training split (BLT's entropy model); the
# model's own name keys its folder.
rule pretrain_upstream:
    input:
        train="results/corpus/{corpus}/train.parquet",
        valid="results/corpus/{corpus}/valid.parquet",
        encoded="results/encoded/{corpus}/train/encoded.json",
    output:
        model=run_dir("upstream") + "model.safetensors",
        meta=run_dir("upstream") + "model.json",
        metrics=run_dir("upstream") + "metrics.parquet",
    params:
        spec=upstream_spec,
        checkpoint_dir=lambda wc: f"results/checkpoints/upstream/{wc.corpus}/{wc.model}/seed{wc.seed}",
        inputs_arg="",
        launcher=train_launcher,
        device=train_device,
    log:
        "results/logs/pretrain_upstream/{corpus}/{model}/seed{seed}.log",
    benchmark:
        "results/benchmarks/pretrain_upstream/{corpus}/{model}/seed{seed}.tsv"
    conda:
        ENV
    threads: config["threads"]
    priority: 20  # before the models that read it
    resources:
        **TRAIN_RESOURCES,
    shell:
        TRAIN_COMMAND


rule pretrain:
    wildcard_constraints:
        model=one_of(TRAINED),
    input:
        train="results/corpus/{corpus}/train.parquet",
        valid="results/corpus/{corpus}/valid.parquet",
        encoded="results/encoded/{corpus}/train/encoded.json",
        tokenizer=model_tokenizer,
        upstream=model_upstream,
    output:
        model=run_dir("pretrain") + "model.safetensors",
        meta=run_dir("pretrain") + "model.json",
        metrics=run_dir("pretrain") + "metrics.parquet",
    params:
        spec=lambda wc: train_spec(wc, MODELS[wc.model], training_of(wc.model)),
        checkpoint_dir=lambda wc: f"results/checkpoints/{wc.corpus}/{wc.model}/seed{wc.seed}",
        inputs_arg=lambda wc, input: " ".join(
            ([f"--tokenizer {input.tokenizer}"] if input.tokenizer else [])
            + ([f"--upstream $(dirname {input.upstream})"] if input.upstream else [])
        ),
        launcher=train_launcher,
        device=train_device,
    log:
        "results/logs/pretrain/{corpus}/{model}/seed{seed}.log",
    benchmark:
        "results/benchmarks/pretrain/{corpus}/{model}/seed{seed}.tsv"
    conda:
        ENV
    threads: config["threads"]
    priority: 10  # the longest jobs: start every training before any evaluation
    resources:
        **TRAIN_RESOURCES,
    shell:
        TRAIN_COMMAND


# An outside pretrained model (family pretrained): no training, its model and tokenizer saved into its pretrain
# folder, so that evaluation jobs on nodes without a network read them from there. On the submit host, where a
# hub download can reach the network; its tokenizer is tried on the whole test split before any evaluation runs.
rule import_pretrained:
    wildcard_constraints:
        model=one_of(IMPORTED),
    input:
        test="results/corpus/{corpus}/test.parquet",
    output:
        hf=directory(run_dir("pretrain") + "hf"),
        meta=run_dir("pretrain") + "model.json",
    params:
        # of the training section only the context, the windows it is scored in: no other edit reruns it
        spec=lambda wc: train_spec(wc, MODELS[wc.model], {"context_bytes": TRAINING["context_bytes"]}),
    log:
        "results/logs/import_pretrained/{corpus}/{model}/seed{seed}.log",
    conda:
        ENV
    localrule: True
    threads: 1
    resources:
        mem_mb=8000,
        runtime=30,
    shell:
        "python -m byteword import --spec {params.spec:q} --seed {wildcards.seed}"
        " --corpus-dir $(dirname {input.test}) --out-dir $(dirname {output.meta}) > {log} 2>&1"
