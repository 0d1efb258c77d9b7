"""The model: a ByT5-architecture T5 built from a size preset or loaded from a directory,
and the byte codec that turns text into its token ids.

ByT5 reads UTF-8 bytes: id = byte + 3, with 0 = pad, 1 = eos, 2 = unk. `ByteCodec`
produces exactly `ByT5Tokenizer`'s ids (a test checks it) but encodes a whole batch with
one numpy call instead of a Python loop per string.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from transformers import T5Config, T5ForConditionalGeneration
from transformers.utils import logging as hf_logging

hf_logging.disable_progress_bar()  # one bar per checkpoint write would drown the run's own output

PAD, EOS, OFFSET = 0, 1, 3

Model = T5ForConditionalGeneration  # what every function that takes `model` takes

# Sizes that train here (tiny: tests; small: the demo; scratch: 2-core CPU) and ByT5's own shapes, for
# building an untrained model of the paper's size. Pretrained weights come from --model PATH.
# The scratch sizes tell apart relative distances up to 31 exactly (T5's default, 32 buckets,
# only up to 7): in a plain-format FAST prompt a digit's partner in the other operand sits
# n + 1 places away, so with 32 buckets every length past 6 digits shares its alignment
# distance with others, and with 128 every length past 30. (In the columns format partners
# sit side by side and index letters, not distances, tell columns apart.)
MODEL_PRESETS: dict[str, dict] = {
    "tiny": dict(d_model=32, d_ff=64, num_layers=2, num_decoder_layers=2, num_heads=2, d_kv=16),
    "small": dict(d_model=128, d_ff=512, num_layers=2, num_decoder_layers=2, num_heads=4, d_kv=32,
                  relative_attention_num_buckets=128),
    "scratch": dict(d_model=128, d_ff=512, num_layers=4, num_decoder_layers=4, num_heads=4, d_kv=32,
                    relative_attention_num_buckets=128),
    "scratch-wide": dict(d_model=256, d_ff=1024, num_layers=4, num_decoder_layers=4, num_heads=4, d_kv=64,
                         relative_attention_num_buckets=128),
    "byt5-small": dict(d_model=1472, d_ff=3584, num_layers=12, num_decoder_layers=4, num_heads=6, d_kv=64),
    "byt5-base": dict(d_model=1536, d_ff=3968, num_layers=18, num_decoder_layers=6, num_heads=12, d_kv=64),
}


def build_model(preset: str, seed: int = 0, **overrides) -> T5ForConditionalGeneration:
    """A freshly initialised byte-level T5 of the named size (`overrides`: T5Config fields
    to change, e.g. relative_attention_num_buckets=256)."""
    config = T5Config(
        vocab_size=384,  # ByT5's vocabulary: 256 bytes + 3 specials, padded
        pad_token_id=PAD, eos_token_id=EOS, decoder_start_token_id=PAD,
        feed_forward_proj="gated-gelu", tie_word_embeddings=False,
        dropout_rate=0.0, relative_attention_max_distance=128,
        **{"relative_attention_num_buckets": 32, **MODEL_PRESETS[preset], **overrides},
    )
    torch.manual_seed(seed)
    model = T5ForConditionalGeneration(with_fused_gelu(config))
    # transformers 5 always ties T5's output layer to the input embedding; the
    # tie_word_embeddings=False above only turns off the 1/sqrt(d_model) output scaling
    # (T5 v1.1, as ByT5). Drawn with T5's std of 1, the shared matrix starts a small model at
    # a loss near 30 and slows it for hundreds of steps; scale it like a linear layer. (A
    # pretrained ByT5 that stores its own output layer loads untied, as it was trained.)
    torch.nn.init.normal_(model.lm_head.weight, std=config.d_model**-0.5)
    return model


def load_pretrained(path: str | Path) -> T5ForConditionalGeneration:
    """A T5/ByT5 saved with `save_pretrained`, read from a local directory only."""
    config = with_fused_gelu(T5Config.from_pretrained(str(path), local_files_only=True))
    model = T5ForConditionalGeneration.from_pretrained(str(path), config=config, local_files_only=True,
                                                       use_safetensors=True)
    return model.float()


def with_fused_gelu(config: T5Config) -> T5Config:
    """ByT5's activation, the tanh-approximated GELU, computed by PyTorch's one fused kernel
    instead of `transformers`' "gelu_new" (the same function to 5e-7, in eight elementwise
    passes): 4.5x faster on a (23000, 512) activation here, in training and in decoding."""
    if config.dense_act_fn == "gelu_new":
        config.dense_act_fn = "gelu_pytorch_tanh"
    return config


def save_model(model: T5ForConditionalGeneration, path: str | Path) -> None:
    """Write `model` to the directory `path` as safetensors with `save_pretrained` (`load_pretrained` reads it)."""
    model.save_pretrained(str(path), safe_serialization=True)


def num_parameters(model: torch.nn.Module) -> int:
    """The number of parameters in `model` (a shared tensor counted once)."""
    return sum(p.numel() for p in model.parameters())


class ByteCodec:
    """Batched UTF-8 byte <-> ByT5 id conversion."""

    def encode(self, texts: list[str], eos: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-padded ids [B, T] and attention mask for `texts`, each ending in eos unless
        `eos` is False (a draft of a continuation, which goes on)."""
        raw = [t.encode() for t in texts]
        lengths = np.fromiter((len(r) for r in raw), dtype=np.int64, count=len(raw)) + int(eos)
        width = int(lengths.max()) if len(raw) else 0
        ids = np.full((len(raw), width), PAD, dtype=np.int64)
        mask = np.arange(width)[None, :] < lengths[:, None]
        body = np.frombuffer(b"".join(raw), dtype=np.uint8).astype(np.int64) + OFFSET
        text_mask = np.arange(width)[None, :] < (lengths - int(eos))[:, None]
        ids[text_mask] = body
        if eos:
            ids[np.arange(len(raw)), lengths - 1] = EOS
        return torch.from_numpy(ids), torch.from_numpy(mask)

    def decode(self, ids: torch.Tensor) -> list[str]:
        """Text of each row up to its first eos or pad; a row holding an id that is no byte (unk)
        becomes U+FFFD alone, and bytes that are not UTF-8 decode to U+FFFD each."""
        arr = ids.cpu().numpy()
        ends = np.where((arr == EOS) | (arr == PAD), 1, 0)
        stop = np.where(ends.any(1), ends.argmax(1), arr.shape[1])
        out = []
        for row, n in zip(arr, stop):
            body = row[:n] - OFFSET
            out.append(bytes(np.clip(body, 0, 255).astype(np.uint8)).decode("utf-8", "replace")
                       if (body >= 0).all() else "\ufffd")
        return out
