import pytest
import torch
from safetensors.torch import save_file
from transformers import ByT5Tokenizer

from sector.decoding import greedy
from sector.model import ByteCodec, build_model, load_pretrained, save_model


def test_codec_matches_byt5_tokenizer():
    texts = ["F12+34", "S9+9+1", "", "C0+é"]
    ids, mask = ByteCodec().encode(texts)
    expected = ByT5Tokenizer()(texts, padding=True).input_ids
    assert ids.tolist() == expected
    assert mask.sum(1).tolist() == [len(t.encode()) + 1 for t in texts]
    assert ByteCodec().decode(ids) == texts


def test_save_and_load_round_trip_with_safetensors(tmp_path):
    model = build_model("tiny", seed=3)
    save_model(model, tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    loaded = load_pretrained(tmp_path)
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name


@pytest.mark.slow
def test_greedy_matches_transformers_generate():
    model = build_model("tiny", seed=1).eval()
    with torch.no_grad():  # an untrained model that writes varied, long outputs
        torch.nn.init.normal_(model.lm_head.weight, std=3.0)
        model.lm_head.weight[:3] = 0.0
    prompts = ["F123+456", "S9+9+1", "F1+2", "S12345+54321"]
    ours = greedy(model, prompts, max_new_tokens=12, batch_size=3)
    ids, mask = ByteCodec().encode(prompts)
    gen = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=12, do_sample=False,
                         num_beams=1, decoder_start_token_id=0, eos_token_id=1, pad_token_id=0)
    assert len(set(ours)) > 1
    assert ours == ByteCodec().decode(gen[:, 1:])


def test_build_model_takes_config_overrides():
    assert build_model("tiny").config.relative_attention_num_buckets == 32
    model = build_model("tiny", relative_attention_num_buckets=8)
    assert model.config.relative_attention_num_buckets == 8
    assert model.encoder.block[0].layer[0].SelfAttention.relative_attention_bias.num_embeddings == 8


def test_output_layer_is_the_input_embedding_unscaled_and_drawn_small():
    # What every recorded run trained; a transformers upgrade must not change it silently.
    model = build_model("scratch")
    assert model.lm_head.weight is model.shared.weight
    assert not model.config.scale_decoder_outputs
    assert abs(model.shared.weight.std().item() - model.config.d_model**-0.5) < 0.01


def test_a_saved_separate_output_layer_loads_untied(tmp_path):
    model = build_model("tiny", seed=0)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state["lm_head.weight"] = torch.randn_like(state["shared.weight"])  # as a pretrained ByT5 stores it
    save_model(model, tmp_path)
    save_file(state, str(tmp_path / "model.safetensors"), metadata={"format": "pt"})
    loaded = load_pretrained(tmp_path)
    assert torch.equal(loaded.lm_head.weight, state["lm_head.weight"])
    assert torch.equal(loaded.shared.weight, state["shared.weight"])
