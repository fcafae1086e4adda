# Embeddings: one lexicon per corpus, the vectors of every model (static ones at two readings, input and
# output), the reference rows (bag of bytes and bigrams, random, fastText and word2vec on the training
# split), then one rule per evaluation over all models and reference rows at once (each its own script:
# word_similarity, analogy, character_probe, typo_robustness, embedding_geometry, sentence_probe).
from byteword.evaluation.reference_vectors import REFERENCES

rule embedding_lexicon:
    input:
        train="results/corpus/{corpus}/train.parquet",
        test="results/corpus/{corpus}/test.parquet",
    output:
        "results/embeddings/{corpus}/lexicon.parquet",
    params:
        **settings(EMBEDDINGS, "datasets", "words_per_bucket", "noised_words", "variants_per_word", "seed"),
        experiment=EXPERIMENT,
    log:
        "results/logs/embedding_lexicon/{corpus}.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../workflow/scripts/embedding_lexicon.py"


rule reference_vectors:
    input:
        train="results/corpus/{corpus}/train.parquet",
        lexicon="results/embeddings/{corpus}/lexicon.parquet",
    output:
        "results/embeddings/{corpus}/reference/{reference}.parquet",
    wildcard_constraints:
        reference="|".join(REFERENCES),
    params:
        reference=EMBEDDINGS["reference"],
        seed=EMBEDDINGS["seed"],
        experiment=EXPERIMENT,
    log:
        "results/logs/reference_vectors/{corpus}/{reference}.log",
    benchmark:
        "results/benchmarks/reference_vectors/{corpus}/{reference}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../workflow/scripts/reference_vectors.py"


rule extract_embeddings:
    input:
        model=model_weights,
        meta=run_dir("pretrain") + "model.json",
        tokenizer=model_tokenizer,
        lexicon="results/embeddings/{corpus}/lexicon.parquet",
        test="results/corpus/{corpus}/test.parquet",
    output:
        static=run_dir("embeddings") + "words.parquet",
        contextual=run_dir("embeddings") + "contextual.parquet",
        sentences=run_dir("embeddings") + "sentences.parquet",
    params:
        **settings(EMBEDDINGS, "datasets", "contextual_occurrences"),
    log:
        "results/logs/extract_embeddings/{corpus}/{model}/seed{seed}.log",
    benchmark:
        "results/benchmarks/extract_embeddings/{corpus}/{model}/seed{seed}.tsv"
    conda:
        ENV
    threads: config["threads"]
    resources:
        gpu=EVAL_GPU,
        mem_mb=4000,
        runtime=30,
    script:
        "../workflow/scripts/extract_embeddings.py"


# each evaluation and the embeddings keys its script reads
EMBEDDING_EVALUATIONS = {"word_similarity": ["datasets"], "analogy": [], "character_probe": ["seed"],
                         "typo_robustness": ["seed"], "embedding_geometry": [],
                         "sentence_probe": ["whiten_sentences", "seed"]}
REFERENCE_TABLES = expand("results/embeddings/{{corpus}}/reference/{reference}.parquet", reference=REFERENCES)

for evaluation in EMBEDDING_EVALUATIONS:

    rule:
        name:
            evaluation
        input:
            static=per_model(run_dir("embeddings") + "words.parquet"),
            contextual=per_model(run_dir("embeddings") + "contextual.parquet"),
            sentences=per_model(run_dir("embeddings") + "sentences.parquet"),
            # static word vectors only: the sentence probe keeps its own bag-of-bytes baseline
            reference=REFERENCE_TABLES if evaluation != "sentence_probe" else [],
        output:
            f"results/embeddings/{{corpus}}/{evaluation}.parquet",
        params:
            **settings(EMBEDDINGS, *EMBEDDING_EVALUATIONS[evaluation]),
            resamples=EVALUATION["bootstrap_resamples"],
            script=evaluation,  # the script directive runs late: the loop variable must travel in params
        log:
            f"results/logs/{evaluation}/{{corpus}}.log",
        benchmark:
            f"results/benchmarks/{evaluation}/{{corpus}}.tsv"
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=4000,
            runtime=20,
        script:
            "../workflow/scripts/{params.script}.py"
