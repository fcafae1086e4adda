# byteword: BPE vs bytes vs hierarchical word pooling, from corpus to figures.
# Read top to bottom: config, validation, one rule file per stage, the final targets.
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


include: "rules/common.smk"
include: "rules/corpus.smk"
include: "rules/tokenizer.smk"
include: "rules/pretrain.smk"
include: "rules/evaluate.smk"
include: "rules/embeddings.smk"
include: "rules/figures.smk"
include: "rules/tables.smk"
include: "rules/scaling.smk"


rule all:
    input:
        all_outputs(),
    default_target: True
