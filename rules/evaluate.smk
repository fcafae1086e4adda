rule evaluate_bpb:
    input:
        model=model_weights,
        meta=run_dir("pretrain") + "model.json",
        test="results/corpus/{corpus}/test.parquet",
        tokenizer=model_tokenizer,
    output:
        summary=run_dir("evaluate") + "bpb.parquet",
        windows=run_dir("evaluate") + "windows.parquet",
        positions=run_dir("evaluate") + "positions.parquet",
    params:
        **settings(EVALUATION, "stride_bytes", "test_bytes", "doc_bytes", "position_bytes", "batch_size",
                   "bootstrap_resamples"),
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
        model=model_weights,
        meta=run_dir("pretrain") + "model.json",
        test="results/corpus/{corpus}/test.parquet",
        tokenizer=model_tokenizer,
    output:
        summary=run_dir("evaluate") + "languages.parquet",
        windows=run_dir("evaluate") + "language_windows.parquet",
    params:
        **settings(EVALUATION, "stride_bytes", "languages", "language_bytes", "batch_size", "bootstrap_resamples"),
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
        model=model_weights,
        meta=run_dir("pretrain") + "model.json",
        test="results/corpus/{corpus}/test.parquet",
        tokenizer=model_tokenizer,
    output:
        summary=run_dir("evaluate") + "noise.parquet",
        windows=run_dir("evaluate") + "noise_windows.parquet",
    params:
        **settings(EVALUATION, "noise", "stride_bytes", "batch_size", "bootstrap_resamples"),
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
        model=model_weights,
        meta=run_dir("pretrain") + "model.json",
        train="results/corpus/{corpus}/train.parquet",
        test="results/corpus/{corpus}/test.parquet",
        tokenizer=model_tokenizer,
    output:
        run_dir("evaluate") + "next_word.parquet",
    params:
        **settings(EVALUATION, "next_word", "batch_size"),
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
        model=model_weights,
        meta=run_dir("pretrain") + "model.json",
        train="results/corpus/{corpus}/train.parquet",
        tokenizer=model_tokenizer,
    output:
        run_dir("evaluate") + "undertrained.parquet",
    params:
        resamples=EVALUATION["bootstrap_resamples"],
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


# Per-model tables of one evaluation, concatenated: positions (every model), undertrained (BPE models).
CONCATENATED = {"positions": (run_dir("evaluate") + "positions.parquet", None),
                "undertrained": (run_dir("evaluate") + "undertrained.parquet", TOKEN_MODELS)}


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
        meta=FIRST_RECORD,
    output:
        windows="results/evaluate/{corpus}/baselines/windows.parquet",
        summary="results/evaluate/{corpus}/baselines/bpb.parquet",
        noise="results/evaluate/{corpus}/baselines/noise_windows.parquet",
        languages="results/evaluate/{corpus}/baselines/language_windows.parquet",
    params:
        **settings(EVALUATION, "stride_bytes", "test_bytes", "doc_bytes", "noise", "languages", "language_bytes",
                   "bootstrap_resamples"),
        language=lambda wc: config["corpora"][wc.corpus].get("language", "en"),
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
        meta=per_model(run_dir("pretrain") + "model.json"),
    output:
        bpb="results/summary/{corpus}/test_bpb.parquet",
        paired="results/summary/{corpus}/paired_bpb.parquet",
    params:
        resamples=EVALUATION["bootstrap_resamples"],
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


# The same statistics for the other evaluations: every model and baseline per language or perturbation
# (and per next-word bucket), intervals over documents and seeds, and paired differences.
for evaluation, windows_table in [("languages", "language_windows"), ("noise", "noise_windows"), ("next_word", None)]:

    rule:
        name:
            f"summarize_{evaluation}"
        input:
            models=per_model(run_dir("evaluate") + f"{evaluation}.parquet"),
            windows=per_model(run_dir("evaluate") + f"{windows_table}.parquet") if windows_table else [],
            baselines=f"results/evaluate/{{corpus}}/baselines/{windows_table}.parquet" if windows_table else [],
        output:
            summary=f"results/summary/{{corpus}}/{evaluation}.parquet",
            paired=f"results/summary/{{corpus}}/paired_{evaluation}.parquet",
        params:
            evaluation=evaluation,
            resamples=EVALUATION["bootstrap_resamples"],
        log:
            f"results/logs/summarize_{evaluation}/{{corpus}}.log",
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=2000,
            runtime=5,
        script:
            "../workflow/scripts/summarize_evaluation.py"
