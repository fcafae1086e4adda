"""Batches collated ahead on a background thread are the batches collated in-process, in the same order,
and the state a checkpoint saves draws the step not yet handed out."""

import dataclasses

import torch

from byteword.batch_stream import BatchStream
from byteword.data import WindowSampler, collate

TEXTS = [" ".join(f"word{i}x{j}" for j in range(60)) for i in range(12)]


def stream(prefetch: bool, seed: int = 3) -> tuple[BatchStream, WindowSampler]:
    sampler = WindowSampler(TEXTS, 40, seed)
    draw = lambda: [sampler.sample(2), sampler.sample(2)]  # noqa: E731 - two micro-batches a step
    return BatchStream(sampler, draw, lambda w: collate(w, "words", max_word_bytes=6), prefetch), sampler


def same(a, b) -> bool:
    return all((x is None and y is None) or torch.equal(x, y)
               for x, y in ((getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a)))


def test_prefetched_batches_are_the_in_process_ones():
    (plain, _), (ahead, _) = stream(prefetch=False), stream(prefetch=True)
    for step in range(6):
        got, want = ahead.next(), plain.next()
        assert len(got) == len(want) == 2 and all(same(g, w) for g, w in zip(got, want)), step
    ahead.close()


def test_the_saved_state_draws_the_step_not_yet_handed_out():
    ahead, _ = stream(prefetch=True)
    for _ in range(4):  # step 5 is drawn (and collating) by now
        ahead.next()
    resumed, sampler = stream(prefetch=False, seed=99)
    sampler.set_state(ahead.state())
    assert all(same(g, w) for g, w in zip(resumed.next(), ahead.next()))
    ahead.close()
