"""The compiled training path on CPU: each family's training forward traces as one graph, and the compiled
step computes the eager step's loss and gradients."""

import pytest
import torch
import torch._dynamo

from byteword.train import COMPILER_SETTINGS, compiled
from conftest import FAMILY_ENTRIES, SAMPLE

WINDOWS = [SAMPLE[:50].encode(), SAMPLE[50:80].encode()]  # two lengths: the batch has padding


def batch_for(model, tokenizer):
    return model.collate(WINDOWS, tokenizer)


@pytest.mark.parametrize("kind", FAMILY_ENTRIES)
def test_the_training_forward_is_one_graph(make_model, tokenizer, kind):
    model = make_model(kind).train()
    torch._dynamo.reset()
    with torch._dynamo.config.patch(**COMPILER_SETTINGS):
        explanation = torch._dynamo.explain(lambda batch: model(batch).loss)(batch_for(model, tokenizer))
    assert explanation.graph_break_count == 0, explanation.break_reasons
    assert explanation.graph_count == 1


# inductor's code generation for the byte transformer; for the other families, the graphs dynamo traces
# and AOT autograd differentiates, run eagerly (seconds each, where inductor takes half a minute)
@pytest.mark.parametrize("kind, backend", [("bytes", "inductor"), ("hat", "aot_eager"), ("spacebyte", "aot_eager"),
                                           ("megabyte", "aot_eager"), ("hnet", "aot_eager"), ("blt", "aot_eager")])
def test_the_compiled_step_matches_the_eager_one(make_model, tokenizer, kind, backend):
    eager, model = make_model(kind).train(), make_model(kind).train()  # the same seed: the same weights
    batch = batch_for(model, tokenizer)
    eager(batch).loss.backward()
    torch._dynamo.reset()
    with torch._dynamo.config.patch(**COMPILER_SETTINGS):  # put back afterwards: compiled sets them for the process
        loss = compiled(model, backend)(batch).loss  # the training loop's own compile
        loss.backward()
    torch.testing.assert_close(loss, eager(batch).loss.detach(), rtol=1e-5, atol=1e-5)
    for (name, p), q in zip(model.named_parameters(), eager.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-5, msg=name)


def test_a_static_model_compiles_once_per_capacity(make_model, tokenizer):
    model = make_model("hat").train()
    assert model.static_shapes
    graphs = []

    def counting(gm, example_inputs):  # a backend that records each graph dynamo hands it and runs it as traced
        graphs.append(gm)
        return gm.forward

    # 9 and 10 words, 17 and 19 bytes: two word counts and two widths, but one capacity of each (10 and 20)
    batches = [model.collate(w, tokenizer) for w in ([b"a b c d e f g h i"], [b"a b c d e f g h i j"])]
    for pad, compiles in ((True, 1), (False, 2)):
        torch._dynamo.reset()
        graphs.clear()
        with torch._dynamo.config.patch(**COMPILER_SETTINGS):
            step = compiled(model, counting)
            for batch in batches:
                step(model.pad_to_capacity(batch) if pad else batch).loss.backward()
        assert len(graphs) == compiles
