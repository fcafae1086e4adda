rule prepare_corpus:
    output:
        train="results/corpus/{corpus}/train.parquet",
        valid="results/corpus/{corpus}/valid.parquet",
        test="results/corpus/{corpus}/test.parquet",
        card="results/corpus/{corpus}/card.json",
    params:
        corpus=lambda wc: config["corpora"][wc.corpus],
        min_split_bytes=config["training"]["context_bytes"],
    log:
        "results/logs/prepare_corpus/{corpus}.log",
    benchmark:
        "results/benchmarks/prepare_corpus/{corpus}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    localrule: True
    script:
        "../workflow/scripts/prepare_corpus.py"
