"""Known answers for every family's two readings of a word (``word_readings``): shapes, independence of
the batch, the input reading by hand, and the output reading equal to the state the family's own forward
pass computes at the matched place in running text, whatever follows the word (so it is causal)."""

import pytest
import torch

from byteword.data import collate
from byteword.models import READINGS, build_model, model_config_from_dict
from byteword.models.hnet import BYTE_BOS as HNET_BOS
from byteword.models.spacebyte import BYTE_BOS as SPACEBYTE_BOS
from byteword.models.transformer import BYTE_BOS
from byteword.tokenization import bos_id

from conftest import FAMILY_ENTRIES

WORDS = [" cat", " elephants", " don't", " naïve"]  # short, over two patches, split by the splitter, UTF-8


def batch_of(model, windows, tokenizer=None):
    return model.collate([w.encode() if isinstance(w, str) else w for w in windows], tokenizer)


def readings(model, windows, tokenizer=None):
    with torch.no_grad():
        return model.word_readings(batch_of(model, windows, tokenizer))


def forward(model, text, tokenizer=None):
    with torch.no_grad():
        return model(batch_of(model, [text], tokenizer))


def jittered(make_model, kind):
    """A model whose zero-initialised parts (H-Net's residual) are nudged, so every state reads its input;
    H-Net's router gets a random W_k, so that it cuts at about half the positions (at initialisation,
    W_q = W_k = I, it cuts almost nowhere)."""
    model = make_model(kind).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
        if kind == "hnet":
            model.router_k.weight.copy_(torch.randn_like(model.router_k.weight))
    return model


def widths(kind) -> int:
    """The width of both readings: the backbone's d_model (a flat model's whole stack)."""
    return FAMILY_ENTRIES[kind]["backbone"]["d_model"]


@pytest.mark.parametrize("kind", list(FAMILY_ENTRIES))
def test_readings_have_their_shapes_and_do_not_depend_on_the_batch(make_model, tokenizer, kind):
    model = jittered(make_model, kind)
    both = readings(model, WORDS, tokenizer)
    assert set(both) == set(READINGS)
    for reading in READINGS:
        assert both[reading].shape == (len(WORDS), widths(kind)) and torch.isfinite(both[reading]).all()
        for i, word in enumerate(WORDS):  # alone in its batch, or padded beside longer words
            alone = readings(model, [word], tokenizer)[reading][0]
            torch.testing.assert_close(both[reading][i], alone, rtol=0, atol=1e-5)
    assert not torch.allclose(both["output"][0], both["output"][1])


def test_flat_byte_model_input_is_the_mean_byte_embedding_and_output_the_state_after_the_word(make_model):
    model = jittered(make_model, "bytes")
    got = readings(model, [" cat", " naïve"])
    for i, word in enumerate([b" cat", " naïve".encode()]):
        torch.testing.assert_close(got["input"][i], model.embed.weight[list(word)].mean(0), rtol=0, atol=1e-6)
    for text in (" cat dog", " cat!x"):  # the state that has read " cat" is at position 4, whatever follows
        torch.testing.assert_close(got["output"][0], forward(model, text).hidden["byte"][0, 4], rtol=0, atol=1e-5)
    ids = torch.tensor([[BYTE_BOS, *b" cat"]])
    torch.testing.assert_close(got["output"][0], model.hidden_states(ids)[0, -1].detach(), rtol=0, atol=1e-5)


def test_bpe_input_is_the_mean_token_embedding_and_output_the_state_after_its_last_token(make_model, tokenizer):
    model = jittered(make_model, "bpe")
    word = " sat"
    ids = tokenizer.encode(word, add_special_tokens=False).ids
    got = readings(model, [word], tokenizer)
    torch.testing.assert_close(got["input"][0], model.embed.weight[ids].mean(0), rtol=0, atol=1e-6)
    for text in (word + " on", word + ", then"):
        assert tokenizer.encode(text, add_special_tokens=False).ids[:len(ids)] == ids  # the word's tokens come first
        state = forward(model, text, tokenizer).hidden["token"][0, len(ids)]  # position i has read tokens < i
        torch.testing.assert_close(got["output"][0], state, rtol=0, atol=1e-5)
    full = torch.tensor([[bos_id(tokenizer), *ids]])
    torch.testing.assert_close(got["output"][0], model.hidden_states(full)[0, -1].detach(), rtol=0, atol=1e-5)


@pytest.mark.parametrize("kind", ["hat", "hat_mean", "hat_xattn", "hat_multi"])
def test_hierarchical_input_is_the_word_vector_and_output_the_backbone_after_the_word(make_model, kind):
    model = jittered(make_model, kind)
    got = readings(model, [" cat"])
    with torch.no_grad():
        vector = model.encode(collate([b" cat"], "words"))[0][0, 0]  # the word vector the backbone reads
    torch.testing.assert_close(got["input"][0], vector, rtol=0, atol=1e-5)
    for text in (" cat dog", " cat, and more"):  # backbone position 1 has read word 0 only
        torch.testing.assert_close(got["output"][0], forward(model, text).hidden["backbone"][0, 1], rtol=0, atol=1e-5)
    pieces = readings(model, [" don't"])  # three pieces " don", "'", "t": the backbone reads them all
    whole = forward(model, " don't go").hidden["backbone"][0, 3]
    torch.testing.assert_close(pieces["output"][0], whole, rtol=0, atol=1e-5)


def test_spacebyte_reads_the_global_stack_at_the_space_after_the_word(make_model):
    model = jittered(make_model, "spacebyte")
    got = readings(model, [" cat"])
    for text in (" cat dog", " cat sat"):  # global slots at BOS and at position 5, the space after "cat"
        out = forward(model, text)
        assert out.boundaries[0].nonzero()[:, 0].tolist()[:2] == [0, 5]
        torch.testing.assert_close(got["output"][0], out.hidden["global"][0, 1], rtol=0, atol=1e-5)
    ids = torch.tensor([[SPACEBYTE_BOS, *b" cat "]])
    with torch.no_grad():
        h = model.embed(ids)
        for block in model.encoder:
            h = block(h, None, True)  # no window reaches back past 16 bytes here: plain causal attention
        torch.testing.assert_close(got["input"][0], model.to_global(h[0, 5]), rtol=0, atol=1e-5)


def test_spacebyte_averages_the_words_global_positions_and_falls_back_to_bos(make_model):
    model = jittered(make_model, "spacebyte")
    ids = torch.tensor([[SPACEBYTE_BOS, *b" don't "]])
    with torch.no_grad():
        s = model.global_stack(ids, torch.ones_like(ids, dtype=torch.bool))
    assert s["is_global"][0].nonzero()[:, 0].tolist() == [0, 5, 7]  # BOS, after "don", after "t"
    got = readings(model, [" don't", " ...", " !!"])
    torch.testing.assert_close(got["input"][0], s["g_in"][0, 1:].mean(0), rtol=0, atol=1e-5)
    torch.testing.assert_close(got["output"][0], s["g"][0, 2], rtol=0, atol=1e-5)
    for reading in READINGS:  # no letter, no global step of its own: BOS's slot, the same for both
        torch.testing.assert_close(got[reading][1], got[reading][2], rtol=0, atol=1e-6)


@pytest.mark.parametrize("word, n_patches", [(" cat", 1), (" ab", 1), (" elephants", 3)])
def test_megabyte_input_is_the_mean_patch_embedding_and_output_the_next_patch(word, n_patches):
    torch.manual_seed(0)
    model = build_model(model_config_from_dict("megabyte", FAMILY_ENTRIES["megabyte"])).eval()  # patches of 4
    got = readings(model, [word])
    filled = word.encode().ljust(4 * n_patches, b" ")  # the last patch's free places hold spaces
    with torch.no_grad():
        patches = [model.patch_proj(model.global_embed(torch.tensor(list(filled[i:i + 4]))).flatten())
                   for i in range(0, len(filled), 4)]
    torch.testing.assert_close(got["input"][0], torch.stack(patches).mean(0), rtol=0, atol=1e-5)
    for tail in ("dog and more", "xyz!"):  # global state k has read patches < k, whatever follows
        state = forward(model, filled.decode() + tail).hidden["global"][0, n_patches]
        torch.testing.assert_close(got["output"][0], state, rtol=0, atol=1e-5)


def forced_router(model, monkeypatch, boundary: bool):
    """Make the router cut at every position (``boundary``) or at BOS only."""
    route = model.route

    def forced(ids, mask):
        h, p, _ = route(ids, mask)
        p = torch.full_like(p, 0.9 if boundary else 0.1).index_fill(1, torch.tensor([0]), 1.0) * mask
        return h, p, (p >= 0.5) & mask

    monkeypatch.setattr(model, "route", forced)


def test_hnet_readings_when_the_router_cuts_at_every_byte(make_model, monkeypatch):
    model = jittered(make_model, "hnet")
    forced_router(model, monkeypatch, boundary=True)
    got = readings(model, [" cat"])
    ids = torch.tensor([[HNET_BOS, *b" cat "]])  # every position opens a chunk: chunk t is position t
    with torch.no_grad():
        h = model.encoder(model.embed(ids), causal=True)  # (1, 6, d_enc)
        u = model.main(model.to_main(h), causal=True)
        torch.testing.assert_close(got["input"][0], model.to_main(h[0, 1:]).mean(0), rtol=0, atol=1e-5)
    torch.testing.assert_close(got["output"][0], u[0, 5], rtol=0, atol=1e-5)  # chunk 5 has read " cat "
    for text in (" cat dog", " cat sat"):  # chunk 5 of running text (input: the space), whatever follows
        torch.testing.assert_close(got["output"][0], forward(model, text).hidden["chunk"][0, 5], rtol=0, atol=1e-5)


def test_hnet_readings_are_the_main_network_at_the_words_chunks_in_running_text(make_model):
    model = jittered(make_model, "hnet")
    got = readings(model, [" cat"])
    for text in (" cat dog", " cat sat"):  # the router cuts at [0, 2, 4, 6, ...]: none at the closing space
        out = forward(model, text)
        cuts = out.boundaries[0, :6].nonzero()[:, 0]  # positions 0..5: BOS, " cat", the closing space
        assert 1 < len(cuts) < 6
        torch.testing.assert_close(got["output"][0], out.hidden["chunk"][0, len(cuts) - 1], rtol=0, atol=1e-5)
        word_cuts = cuts[cuts >= 1]
        with torch.no_grad():
            chunk_inputs = model.to_main(out.hidden["encoder"][0, word_cuts])
        torch.testing.assert_close(got["input"][0], chunk_inputs.mean(0), rtol=0, atol=1e-5)


def test_hnet_readings_fall_back_to_bos_when_the_router_draws_no_boundary(make_model, monkeypatch):
    model = jittered(make_model, "hnet")
    forced_router(model, monkeypatch, boundary=False)
    got = readings(model, [" cat", " elephants"])
    for reading in READINGS:  # the main network has received nothing of either word
        torch.testing.assert_close(got[reading][0], got[reading][1], rtol=0, atol=1e-6)
