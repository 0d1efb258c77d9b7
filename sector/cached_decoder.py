"""Greedy decoding of a T5 with a cache allocated once and a batch that shrinks.

Calling a `transformers` T5 once per token (what `generate()` does, and what sector did
before) spends most of a small model's step outside its arithmetic: the
scaled-dot-product kernel set up for a single query, a `torch.cat` per layer per step to
grow the cache, the relative position bias recomputed every step, and rows that have
emitted eos decoded to the end with the rest. Here each batch gets its cross-attention
keys and values, its self-attention cache and its position bias once; attention for the
one new query is two batched matmuls; and rows leave the batch once they are done. The
layer norms, the feed-forward blocks, the embeddings and the output layer are the model's
own modules, so every T5/ByT5 configuration decodes here exactly as in the model's forward
(a test checks token for token against `generate()`).
"""
from __future__ import annotations

import torch

from sector.model import EOS, PAD

COMPACT_SHARE = 0.25  # drop finished rows once they are this share of the batch


@torch.no_grad()
def greedy_tokens(model, ids: torch.Tensor, mask: torch.Tensor, max_new_tokens: int) -> torch.Tensor:
    """Greedy continuations (batch, steps) of the prompts `ids` with attention `mask`,
    PAD after each row's eos; stops when every row is done or after max_new_tokens."""
    cfg, decoder = model.config, model.decoder
    blocks = decoder.block
    batch, heads, d_kv = ids.shape[0], cfg.num_heads, cfg.d_kv
    encoded = model.get_encoder()(input_ids=ids, attention_mask=mask).last_hidden_state

    def split_heads(x: torch.Tensor) -> torch.Tensor:  # (b, s, heads * d_kv) -> (b, heads, s, d_kv)
        return x.view(x.shape[0], x.shape[1], heads, d_kv).transpose(1, 2)

    # Keys are stored transposed, (b, heads, d_kv, keys), so that q @ k is a view, not a copy.
    cross_k = [split_heads(blk.layer[1].EncDecAttention.k(encoded)).transpose(2, 3).contiguous() for blk in blocks]
    cross_v = [split_heads(blk.layer[1].EncDecAttention.v(encoded)).contiguous() for blk in blocks]
    dtype = cross_k[0].dtype
    cross_bias = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
    # bias[:, :, t, :t + 1] is what query t adds to its scores over keys 0..t.
    bias = blocks[0].layer[0].SelfAttention.compute_bias(max_new_tokens, max_new_tokens, device=ids.device).float()
    self_k = encoded.new_zeros(len(blocks), batch, heads, d_kv, max_new_tokens, dtype=dtype)
    self_v = encoded.new_zeros(len(blocks), batch, heads, max_new_tokens, d_kv, dtype=dtype)
    # One matmul for q, k and v of the self-attention.
    qkv = [torch.cat([blk.layer[0].SelfAttention.q.weight, blk.layer[0].SelfAttention.k.weight,
                      blk.layer[0].SelfAttention.v.weight]) for blk in blocks]

    out = torch.full((batch, max_new_tokens), PAD, dtype=torch.long, device=ids.device)
    rows = torch.arange(batch, device=ids.device)  # the batch rows still in the tensors below
    finished = torch.zeros(batch, dtype=torch.bool, device=ids.device)
    token = torch.full((batch, 1), PAD, dtype=torch.long, device=ids.device)
    for t in range(max_new_tokens):
        h = decoder.embed_tokens(token)
        for i, blk in enumerate(blocks):
            sa, ca = blk.layer[0].SelfAttention, blk.layer[1].EncDecAttention
            x = blk.layer[0].layer_norm(h)
            q, k, v = torch.nn.functional.linear(x, qkv[i]).view(-1, 3, heads, d_kv).unbind(1)
            self_k[i, :, :, :, t] = k
            self_v[i, :, :, t] = v
            h = h + sa.o(_attend(q[:, :, None], self_k[i, ..., : t + 1], self_v[i, :, :, : t + 1],
                                 bias[:, :, t : t + 1, : t + 1]))
            x = blk.layer[1].layer_norm(h)
            h = h + ca.o(_attend(split_heads(ca.q(x)), cross_k[i], cross_v[i], cross_bias))
            h = blk.layer[2](h)  # the model's own feed-forward block, residual included
        h = decoder.final_layer_norm(h)
        if cfg.scale_decoder_outputs:
            h = h * cfg.d_model**-0.5
        token = model.lm_head(h)[:, -1].argmax(-1, keepdim=True).masked_fill(finished[:, None], PAD)
        out[rows, t] = token[:, 0]
        finished |= token[:, 0] == EOS
        n_done = int(finished.sum())
        if n_done == len(rows):
            return out[:, : t + 1]
        if n_done >= COMPACT_SHARE * len(rows):
            keep = (~finished).nonzero()[:, 0]
            rows, token, finished, cross_bias = rows[keep], token[keep], finished[keep], cross_bias[keep]
            cross_k, cross_v = [k[keep] for k in cross_k], [v[keep] for v in cross_v]
            self_k, self_v = self_k[:, keep], self_v[:, keep]
    return out


def _attend(q: torch.Tensor, k_t: torch.Tensor, v: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """T5 attention for one query per row, scores in float32 (no 1/sqrt(d) scaling: T5 folds
    it into the weights): q (b, heads, 1, d_kv), k_t (b, heads, d_kv, keys), v (b, heads,
    keys, d_kv) -> (b, 1, heads * d_kv)."""
    scores = torch.matmul(q, k_t).float() + bias
    weights = torch.softmax(scores, dim=-1).to(v.dtype)
    out = torch.matmul(weights, v)
    return out.transpose(1, 2).reshape(q.shape[0], 1, -1)
