rule extract_embeddings:
    input:
        model=run_dir("pretrain") + "model.safetensors",
        meta=run_dir("pretrain") + "model.json",
        tokenizer=model_tokenizer,
    output:
        run_dir("embeddings") + "words.parquet",
    params:
        datasets=config["embeddings"]["datasets"],
    log:
        "results/logs/extract_embeddings/{corpus}/{model}/seed{seed}.log",
    benchmark:
        "results/benchmarks/extract_embeddings/{corpus}/{model}/seed{seed}.tsv"
    conda:
        ENV
    threads: config["threads"]
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../workflow/scripts/extract_embeddings.py"


rule word_similarity:
    input:
        per_model(run_dir("embeddings") + "words.parquet"),
    output:
        "results/embeddings/{corpus}/word_similarity.parquet",
    params:
        datasets=config["embeddings"]["datasets"],
        resamples=config["evaluation"]["bootstrap_resamples"],
    log:
        "results/logs/word_similarity/{corpus}.log",
    benchmark:
        "results/benchmarks/word_similarity/{corpus}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../workflow/scripts/word_similarity.py"
