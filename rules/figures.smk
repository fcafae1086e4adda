# One rule per figure (plot_<figure>), all through plot.py; each reads only Parquet and registers its
# PNG in the report with its own caption (captions cannot hold wildcards, hence the loop).
FIGURE_INPUTS = {
    "training_curves": per_model(run_dir("pretrain") + "metrics.parquet", TRAINED),
    "test_bpb": ["results/summary/{corpus}/test_bpb.parquet"],
    "tokenizer_stats": ["results/tokenizer/{corpus}/stats.parquet"],
    **{e: [f"results/embeddings/{{corpus}}/{e}.parquet"] for e in EMBEDDING_EVALUATIONS},
    "paired_bpb": ["results/summary/{corpus}/paired_bpb.parquet"],
    "bpb_by_position": ["results/summary/{corpus}/positions.parquet"],
    "pareto": ["results/summary/{corpus}/test_bpb.parquet"],
    "parameters": ["results/summary/{corpus}/test_bpb.parquet"],
    "bytes_per_chunk": ["results/summary/{corpus}/languages.parquet"],
    "languages": ["results/summary/{corpus}/languages.parquet"],
}
if TOKEN_MODELS:
    FIGURE_INPUTS["undertrained_tokens"] = ["results/summary/{corpus}/undertrained.parquet"]
FIGURE_INPUTS["next_word"] = ["results/summary/{corpus}/next_word.parquet"]
if SCALING:  # the points and the fitted curves of a scaling study
    FIGURE_INPUTS["scaling"] = ["results/summary/{corpus}/scaling_points.parquet",
                                "results/summary/{corpus}/scaling_fit.parquet"]
if NOISE:  # the noise evaluation runs only when the config names perturbations
    FIGURE_INPUTS["noise"] = ["results/summary/{corpus}/noise.parquet"]

for figure, figure_inputs in FIGURE_INPUTS.items():

    rule:
        name:
            f"plot_{figure}"
        input:
            figure_inputs,
        output:
            report(
                f"results/figures/{{corpus}}/{figure}.png",
                caption=f"../workflow/report/{figure}.rst",
                category="{corpus}",
            ),
        params:
            figure=figure,
        log:
            f"results/logs/plot/{{corpus}}/{figure}.log",
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=2000,
            runtime=5,
        script:
            "../workflow/scripts/plot.py"
