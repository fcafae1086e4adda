# One Markdown table per result (render_table), rendered from its Parquet by byteword.tables, for the
# docs pages: `python -m byteword.tables paste docs/*.md` copies them in, so no number is typed by hand.
from byteword.tables import TABLES as _TABLES

# the noise tables only where the config names perturbations, under-trained tokens only with a BPE model
RENDERED_TABLES = [t for t in _TABLES if (NOISE or not t.startswith("noise")) and (TOKEN_MODELS or t != "undertrained")
                   and (SCALING or not t.startswith("scaling"))]


rule render_table:
    input:
        lambda wc: _TABLES[wc.table][0].format(corpus=wc.corpus),
    output:
        "results/tables/{corpus}/{table}.md",
    wildcard_constraints:
        table="|".join(RENDERED_TABLES),
    log:
        "results/logs/render_table/{corpus}/{table}.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../workflow/scripts/render_table.py"
