# A scaling study (config section ``scaling``, byteword.scaling): every point is trained and scored by the
# usual rules; here its test documents' NLL and its achieved FLOPs become the fitted curves, and the
# learning-rate sweep's validation BPB becomes a table.
FIT_POINTS = {name: p for name, p in POINTS.items() if not p.sweep}
SWEEP_POINTS = {name: p for name, p in POINTS.items() if p.sweep}
# the study's own points at the sweep's budget: the sweep's table compares them with the swept rates
AT_SWEEP_BUDGET = [name for name, p in FIT_POINTS.items() if p.budget in {q.budget for q in SWEEP_POINTS.values()}]
SCALING_OUTPUTS = ["summary/{corpus}/scaling_fit.parquet", "figures/{corpus}/scaling.png",
                   "tables/{corpus}/scaling_fit.md", "tables/{corpus}/scaling_points.md",
                   "tables/{corpus}/scaling_paired.md"]
if SWEEP_POINTS:
    SCALING_OUTPUTS += ["tables/{corpus}/scaling_lr_sweep.md"]


rule scaling_study:
    input:
        windows=per_model(run_dir("evaluate") + "windows.parquet", list(FIT_POINTS)),
        meta=per_model(run_dir("pretrain") + "model.json", list(FIT_POINTS)),
        train="results/corpus/{corpus}/train.parquet",
        baselines="results/evaluate/{corpus}/baselines/bpb.parquet",  # n-grams and compressors on the same bytes
    output:
        points="results/summary/{corpus}/scaling_points.parquet",
        fits="results/summary/{corpus}/scaling_fit.parquet",
    params:
        points={name: [p.model, p.budget] for name, p in FIT_POINTS.items()},
        reference=SCALING["reference"] if SCALING else None,
        extrapolate=SCALING.get("extrapolate", 100) if SCALING else None,
        resamples=EVALUATION["bootstrap_resamples"],
    log:
        "results/logs/scaling_study/{corpus}.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../workflow/scripts/scaling_study.py"


# each model at the sweep's budget and first seed: the study's own rate and every swept one
rule scaling_lr_sweep:
    input:
        metrics=expand(run_dir("pretrain") + "metrics.parquet", corpus="{corpus}", seed=SEEDS[0],
                       model=AT_SWEEP_BUDGET + list(SWEEP_POINTS)) if SWEEP_POINTS else [],
    output:
        "results/summary/{corpus}/scaling_lr_sweep.parquet",
    params:
        points={n: [POINTS[n].model, POINTS[n].budget, POINTS[n].config.lr, POINTS[n].sweep]
                for n in AT_SWEEP_BUDGET + list(SWEEP_POINTS)},
    log:
        "results/logs/scaling_lr_sweep/{corpus}.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../workflow/scripts/scaling_lr_sweep.py"
