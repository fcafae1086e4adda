"""One function per figure, each taking tidy DataFrames read from Parquet and returning a Figure, in
three modules by what they draw (``lm``, ``tokenizers``, ``embeddings``); ``FIGURES`` names them all
for ``workflow/scripts/plot.py``."""

from byteword.plotting.common import over_seeds, plt  # noqa: F401
from byteword.plotting.embeddings import (analogy, character_probe, embedding_geometry, sentence_probe,
                                          typo_robustness, word_similarity)
from byteword.plotting.lm import (bpb_by_position, bytes_per_chunk, languages, next_word, noise, paired_bpb,
                                  parameters, pareto, scaling, test_bpb, training_curves)
from byteword.plotting.tokenizers import tokenizer_stats, undertrained_tokens

FIGURES = {"training_curves": training_curves, "test_bpb": test_bpb, "tokenizer_stats": tokenizer_stats,
           "word_similarity": word_similarity, "pareto": pareto, "parameters": parameters,
           "bytes_per_chunk": bytes_per_chunk, "languages": languages, "noise": noise,
           "undertrained_tokens": undertrained_tokens, "next_word": next_word, "analogy": analogy,
           "character_probe": character_probe, "typo_robustness": typo_robustness,
           "embedding_geometry": embedding_geometry, "sentence_probe": sentence_probe, "paired_bpb": paired_bpb,
           "bpb_by_position": bpb_by_position, "scaling": scaling}
