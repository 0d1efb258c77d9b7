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


@pytest.mark.slow
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


def lm_head_calls(model) -> list[int]:
    calls = []
    model.lm_head.register_forward_hook(lambda *_: calls.append(1))
    return calls


@pytest.mark.slow
@pytest.mark.parametrize("make", [lambda: early_eos(build_model("tiny", seed=3)), lambda: classic_t5()])
def test_a_draft_changes_no_output(make):
    model = make().eval()
    ids, mask = ByteCodec().encode(PROMPTS)
    plain = greedy_tokens(model, ids, mask, 16)
    right = plain[:, 1:].masked_fill(plain[:, 1:] == EOS, PAD)  # the true continuation after the first token
    wrong_from_3 = right.clone()
    wrong_from_3[:, 3:] = (right[:, 3:] + 1) % 300 + 3
    ragged = right.clone()
    ragged[::2, 5:] = PAD  # shorter drafts for some rows
    for draft in (right, wrong_from_3, ragged, torch.randint(3, 259, (len(PROMPTS), 40)), right[:, :0]):
        assert torch.equal(greedy_tokens(model, ids, mask, 16, draft), plain)


def test_a_right_draft_is_checked_in_one_pass():
    model = classic_t5().eval()  # no early eos: every row runs to the step limit
    ids, mask = ByteCodec().encode(PROMPTS)
    calls = lm_head_calls(model)
    plain = greedy_tokens(model, ids, mask, 16)
    assert len(calls) == 16 and not (plain == EOS).any()
    calls.clear()
    assert torch.equal(greedy_tokens(model, ids, mask, 16, plain[:, 1:]), plain)
    assert len(calls) == 2  # the first token, then the pass that keeps all of the draft


@pytest.mark.slow
def test_greedy_with_drafts_of_any_length_keeps_its_outputs():
    from sector.decoding import greedy

    model = early_eos(build_model("tiny", seed=3)).eval()
    prompts = ["S" + "7" * n for n in (3, 9, 1, 6, 12)] + PROMPTS
    plain = greedy(model, prompts, 14, batch_size=4)
    drafts = [text[1:] if i % 3 else "9" * (i % 7) for i, text in enumerate(plain)]  # right, wrong, empty
    assert greedy(model, prompts, 14, batch_size=4, drafts=drafts) == plain


@pytest.mark.slow
def test_bf16_decoding_runs_a_bfloat16_copy_made_once_per_state_of_the_weights():
    from sector.decoding import greedy, in_bf16

    model = early_eos(build_model("tiny", seed=3)).eval()
    ids, mask = ByteCodec().encode(PROMPTS)
    copy = in_bf16(model)
    assert in_bf16(model) is copy and copy is not model
    assert {p.dtype for p in copy.parameters()} == {torch.bfloat16}
    assert {p.dtype for p in model.parameters()} == {torch.float32}  # the trained weights stay as they are
    expected = ByteCodec().decode(greedy_tokens(copy, ids, mask, 16))
    assert greedy(model, PROMPTS, 16, bf16=True) == expected
    with torch.no_grad():
        model.lm_head.weight[EOS] *= 4  # an optimizer step writes in place, as this does
    fresh = in_bf16(model)
    assert fresh is not copy and torch.equal(fresh.lm_head.weight, model.lm_head.weight.bfloat16())
