"""sector's cached decoder against transformers' generate(), token for token."""
import pytest
import torch
from transformers import T5Config, T5ForConditionalGeneration

from sector.cached_decoder import greedy_tokens
from sector.model import EOS, PAD, ByteCodec, build_model

PROMPTS = ["F12+34", "S077|854+983", "F9999999+1111111+1", "C0123", "F5+5", "S1234567|0+0+1"] * 4


def classic_t5() -> T5ForConditionalGeneration:
    """The original T5's shape: ReLU feed-forward and tied embeddings (scaled decoder output)."""
    torch.manual_seed(1)
    config = T5Config(vocab_size=384, d_model=32, d_ff=64, num_layers=2, num_decoder_layers=2, num_heads=2,
                      d_kv=8, feed_forward_proj="relu", tie_word_embeddings=True, dropout_rate=0.0,
                      pad_token_id=PAD, eos_token_id=EOS, decoder_start_token_id=PAD)
    return T5ForConditionalGeneration(config)


def early_eos(model):
    """Make eos likely enough that rows end at different steps (the batch then shrinks)."""
    with torch.no_grad():
        model.lm_head.weight[EOS] *= 4
    return model


@pytest.mark.parametrize("make", [lambda: early_eos(build_model("tiny", seed=3)), lambda: early_eos(classic_t5())])
def test_greedy_tokens_equal_generate(make):
    model = make().eval()
    ids, mask = ByteCodec().encode(PROMPTS)
    ours = greedy_tokens(model, ids, mask, 16)
    ref = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=16, do_sample=False, num_beams=1,
                         decoder_start_token_id=PAD, eos_token_id=EOS, pad_token_id=PAD)[:, 1:]
    assert ours.shape == ref.shape and torch.equal(ours, ref)
    ended = (ours == EOS).any(1)
    assert 0 < int(ended.sum()) < len(PROMPTS)  # some rows left the batch early, some ran to the end
