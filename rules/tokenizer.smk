rule train_tokenizer:
    input:
        "results/corpus/{corpus}/train.parquet",
    output:
        "results/tokenizer/{corpus}/{tokenizer}/tokenizer.json",
    params:
        vocab_size=lambda wc: int(wc.tokenizer.removeprefix("bpe")),
    log:
        "results/logs/train_tokenizer/{corpus}/{tokenizer}.log",
    benchmark:
        "results/benchmarks/train_tokenizer/{corpus}/{tokenizer}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../workflow/scripts/train_tokenizer.py"


rule tokenizer_stats:
    input:
        tokenizers=expand("results/tokenizer/{{corpus}}/{tokenizer}/tokenizer.json", tokenizer=TOKENIZERS),
        text="results/corpus/{corpus}/valid.parquet",
    output:
        "results/tokenizer/{corpus}/stats.parquet",
    params:
        experiment=EXPERIMENT,
    log:
        "results/logs/tokenizer_stats/{corpus}.log",
    benchmark:
        "results/benchmarks/tokenizer_stats/{corpus}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../workflow/scripts/tokenizer_stats.py"
