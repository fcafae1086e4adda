rule evaluate_bpb:
    input:
        model=run_dir("pretrain") + "model.safetensors",
        meta=run_dir("pretrain") + "model.json",
        test="results/corpus/{corpus}/test.parquet",
        tokenizer=model_tokenizer,
    output:
        summary=run_dir("evaluate") + "bpb.parquet",
        windows=run_dir("evaluate") + "windows.parquet",
        positions=run_dir("evaluate") + "positions.parquet",
    params:
        evaluation=config["evaluation"],
    log:
        "results/logs/evaluate_bpb/{corpus}/{model}/seed{seed}" + ".log",
    benchmark:
        "results/benchmarks/evaluate_bpb/{corpus}/{model}/seed{seed}" + ".tsv"
    conda:
        ENV
    threads: config["threads"]
    resources:
        gpu=EVAL_GPU,
        mem_mb=4000,
        runtime=60,
    script:
        "../workflow/scripts/evaluate_bpb.py"


rule evaluate_languages:
    input:
        model=run_dir("pretrain") + "model.safetensors",
        meta=run_dir("pretrain") + "model.json",
        test="results/corpus/{corpus}/test.parquet",
        tokenizer=model_tokenizer,
    output:
        run_dir("evaluate") + "languages.parquet",
    params:
        evaluation=config["evaluation"],
        language=lambda wc: config["corpora"][wc.corpus].get("language", "en"),
    log:
        "results/logs/evaluate_languages/{corpus}/{model}/seed{seed}" + ".log",
    benchmark:
        "results/benchmarks/evaluate_languages/{corpus}/{model}/seed{seed}" + ".tsv"
    conda:
        ENV
    threads: config["threads"]
    resources:
        gpu=EVAL_GPU,
        mem_mb=4000,
        runtime=30,
    script:
        "../workflow/scripts/evaluate_languages.py"


rule evaluate_noise:
    input:
        model=run_dir("pretrain") + "model.safetensors",
        meta=run_dir("pretrain") + "model.json",
        test="results/corpus/{corpus}/test.parquet",
        tokenizer=model_tokenizer,
    output:
        run_dir("evaluate") + "noise.parquet",
    params:
        evaluation=config["evaluation"],
    log:
        "results/logs/evaluate_noise/{corpus}/{model}/seed{seed}" + ".log",
    benchmark:
        "results/benchmarks/evaluate_noise/{corpus}/{model}/seed{seed}" + ".tsv"
    conda:
        ENV
    threads: config["threads"]
    resources:
        gpu=EVAL_GPU,
        mem_mb=4000,
        runtime=60,
    script:
        "../workflow/scripts/evaluate_noise.py"


rule evaluate_next_word:
    input:
        model=run_dir("pretrain") + "model.safetensors",
        meta=run_dir("pretrain") + "model.json",
        train="results/corpus/{corpus}/train.parquet",
        test="results/corpus/{corpus}/test.parquet",
        tokenizer=model_tokenizer,
    output:
        run_dir("evaluate") + "next_word.parquet",
    params:
        evaluation=config["evaluation"],
    log:
        "results/logs/evaluate_next_word/{corpus}/{model}/seed{seed}" + ".log",
    benchmark:
        "results/benchmarks/evaluate_next_word/{corpus}/{model}/seed{seed}" + ".tsv"
    conda:
        ENV
    threads: config["threads"]
    resources:
        gpu=EVAL_GPU,
        mem_mb=4000,
        runtime=30,
    script:
        "../workflow/scripts/evaluate_next_word.py"


rule undertrained_tokens:
    input:
        model=run_dir("pretrain") + "model.safetensors",
        meta=run_dir("pretrain") + "model.json",
        train="results/corpus/{corpus}/train.parquet",
        tokenizer=model_tokenizer,
    output:
        run_dir("evaluate") + "undertrained.parquet",
    params:
        resamples=config["evaluation"]["bootstrap_resamples"],
    log:
        "results/logs/undertrained_tokens/{corpus}/{model}/seed{seed}" + ".log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../workflow/scripts/undertrained_tokens.py"


# Per-model tables of one evaluation, concatenated: noise, positions, next_word (every model), undertrained (BPE models).
CONCATENATED = {"noise": (run_dir("evaluate") + "noise.parquet", None),
                "positions": (run_dir("evaluate") + "positions.parquet", None),
                "next_word": (run_dir("evaluate") + "next_word.parquet", None),
                "undertrained": (run_dir("evaluate") + "undertrained.parquet", BPE_MODELS)}


rule concat_tables:
    input:
        lambda wc: expand(per_model(*CONCATENATED[wc.table]), corpus=wc.corpus),
    output:
        "results/summary/{corpus}/{table}.parquet",
    wildcard_constraints:
        table="|".join(CONCATENATED),
    log:
        "results/logs/concat_tables/{corpus}/{table}.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../workflow/scripts/concat_tables.py"


rule baselines:
    input:
        train="results/corpus/{corpus}/train.parquet",
        valid="results/corpus/{corpus}/valid.parquet",
        test="results/corpus/{corpus}/test.parquet",
    output:
        windows="results/evaluate/{corpus}/baselines/windows.parquet",
        summary="results/evaluate/{corpus}/baselines/bpb.parquet",
    params:
        experiment=EXPERIMENT,
        evaluation=config["evaluation"],
        training=TRAINING,
        seed=SEEDS[0],
    log:
        "results/logs/baselines/{corpus}.log",
    benchmark:
        "results/benchmarks/baselines/{corpus}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    script:
        "../workflow/scripts/baselines.py"


rule summarize_bpb:
    input:
        models=per_model(run_dir("evaluate") + "bpb.parquet"),
        windows=per_model(run_dir("evaluate") + "windows.parquet"),
        baselines="results/evaluate/{corpus}/baselines/windows.parquet",
        baseline_summary="results/evaluate/{corpus}/baselines/bpb.parquet",
        languages=per_model(run_dir("evaluate") + "languages.parquet"),
        meta=per_model(run_dir("pretrain") + "model.json"),
    output:
        bpb="results/summary/{corpus}/test_bpb.parquet",
        paired="results/summary/{corpus}/paired_bpb.parquet",
        languages="results/summary/{corpus}/languages.parquet",
    params:
        resamples=config["evaluation"]["bootstrap_resamples"],
    log:
        "results/logs/summarize_bpb/{corpus}.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    script:
        "../workflow/scripts/summarize_bpb.py"
