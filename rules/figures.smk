# One rule per figure family; each reads only Parquet and registers its PNG in the report.
FIGURE_INPUTS = {
    "training_curves": per_model(run_dir("pretrain") + "/metrics.parquet"),
    "test_bpb": ["results/summary/{corpus}/test_bpb.parquet"],
    "tokenizer_stats": ["results/tokenizer/{corpus}/stats.parquet"],
    "word_similarity": ["results/embeddings/{corpus}/word_similarity.parquet"],
}


rule plot:
    input:
        lambda wc: expand(FIGURE_INPUTS[wc.figure], corpus=wc.corpus),
    output:
        report(
            "results/figures/{corpus}/{figure}.png",
            caption="../workflow/report/{figure}.rst",
            category="{corpus}",
            subcategory="{figure}",
        ),
    log:
        "results/logs/plot/{corpus}/{figure}.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    script:
        "../workflow/scripts/plot.py"
