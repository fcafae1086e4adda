"""The training loop's micro-batches, one optimizer step at a time, collated ahead on a GPU.

The windows are always drawn in the loop's own thread and in order, so the sampler makes the same
draws with or without prefetch. With ``prefetch``, the next step's windows are drawn as soon as this
step's batches are handed out, and collated (and pinned, so that the copy to the GPU need not block)
on one background thread while this step trains. ``state()`` is the sampler's state from before the
draw of the step not yet handed out: what a checkpoint saves, so that a resumed run draws that step
again. On a CPU the loop collates in-process (no prefetch): a second thread would slow the demo's
other job, which shares the cores."""

from __future__ import annotations

import copy
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

from byteword.data import Batch


class BatchStream:
    def __init__(self, sampler, draw: Callable[[], list], collate: Callable[[list], Batch], prefetch: bool = False,
                 pin: bool = False):
        """``draw()`` draws one step's windows from ``sampler`` as a list of micro-batches of windows;
        ``collate`` turns one micro-batch of windows into a Batch."""
        self.sampler, self.draw, self.collate, self.pin = sampler, draw, collate, pin
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="collate") if prefetch else None
        self.pending: tuple[dict, Future] | None = None  # the next step: sampler state before its draw, its batches

    def _collated(self, windows: list) -> list[Batch]:
        batches = [self.collate(w) for w in windows]
        return [b.pin_memory() for b in batches] if self.pin else batches

    def _draw_next(self) -> None:
        state = copy.deepcopy(self.sampler.state())
        self.pending = (state, self.pool.submit(self._collated, self.draw()))

    def next(self) -> list[Batch]:
        """This step's micro-batches (with prefetch, the next step's are then drawn and start collating)."""
        if self.pool is None:
            return self._collated(self.draw())
        if self.pending is None:
            self._draw_next()
        batches = self.pending[1].result()
        self._draw_next()
        return batches

    def state(self) -> dict:
        """The sampler state a resumed run starts from: before the draw of the next step to be handed out."""
        return self.pending[0] if self.pending is not None else self.sampler.state()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
