"""Greedy decoding of a T5 with a cache allocated once and a batch that shrinks.

Calling a `transformers` T5 once per token (what `generate()` does) spends most of a small
model's step outside its arithmetic: the scaled-dot-product kernel set up for a single
query, a `torch.cat` per layer per step to grow the cache, the relative position bias recomputed every step, and rows that have
emitted eos decoded to the end with the rest. Here each batch gets its cross-attention
keys and values, its self-attention cache and its position bias once; attention for the
new queries is two batched matmuls; and rows leave the batch once they are done. The
layer norms, the feed-forward blocks, the embeddings and the output layer are the model's
own modules, so every T5/ByT5 configuration decodes here exactly as in the model's forward
(a test checks token for token against `generate()`).

A caller that can guess most of an output (a SLOW step copies its prompt's tail) passes
that guess as a draft: one pass over all drafted positions then does the work of as many
steps, and greedy's own choice at each position decides how much of the draft stands, so
the output is the one decoding without the draft gives (up to float rounding: the pass
multiplies the same numbers in taller matrices). Rows then sit at different positions;
every row carries its own.
"""
from __future__ import annotations

import torch

from sector.model import EOS, PAD, Model

COMPACT_SHARE = 0.25  # drop finished rows once they are this share of the batch


@torch.no_grad()
def greedy_tokens(model: Model, ids: torch.Tensor, mask: torch.Tensor, max_new_tokens: int,
                  draft: torch.Tensor | None = None) -> torch.Tensor:
    """Greedy continuations (batch, steps) of the prompts `ids` with attention `mask`,
    PAD after each row's eos; stops when every row is done or after max_new_tokens.
    `draft` (batch, L), PAD-padded, guesses each row's tokens after its first: checked in
    one pass after the first step, kept up to the first token greedy would not choose."""
    cfg, decoder = model.config, model.decoder
    blocks = decoder.block
    batch, heads, d_kv, steps = ids.shape[0], cfg.num_heads, cfg.d_kv, max_new_tokens
    encoded = model.get_encoder()(input_ids=ids, attention_mask=mask).last_hidden_state

    def split_heads(x: torch.Tensor) -> torch.Tensor:  # (b, s, heads * d_kv) -> (b, heads, s, d_kv)
        return x.view(x.shape[0], x.shape[1], heads, d_kv).transpose(1, 2)

    # Keys are stored transposed, (b, heads, d_kv, keys), so that q @ k is a view, not a copy.
    cross_k = [split_heads(blk.layer[1].EncDecAttention.k(encoded)).transpose(2, 3).contiguous() for blk in blocks]
    cross_v = [split_heads(blk.layer[1].EncDecAttention.v(encoded)).contiguous() for blk in blocks]
    dtype = cross_k[0].dtype
    cross_bias = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
    # bias[:, q, k]: what a query at position q adds to its score over key k; later keys are masked.
    bias = blocks[0].layer[0].SelfAttention.compute_bias(steps, steps, device=ids.device)[0].float()
    bias = bias.masked_fill(torch.ones(steps, steps, dtype=torch.bool, device=ids.device).triu(1),
                            torch.finfo(torch.float32).min)
    self_k = encoded.new_zeros(len(blocks), batch, heads, d_kv, steps, dtype=dtype)
    self_v = encoded.new_zeros(len(blocks), batch, heads, steps, d_kv, dtype=dtype)
    # One matmul for q, k and v of the self-attention.
    qkv = [torch.cat([blk.layer[0].SelfAttention.q.weight, blk.layer[0].SelfAttention.k.weight,
                      blk.layer[0].SelfAttention.v.weight]) for blk in blocks]

    def predict(tokens: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """Greedy's next token after each of `tokens` (b, p), which sit at positions
        pos, pos + 1, ... of their rows; writes their keys and values to the cache."""
        n, p = tokens.shape
        at = pos[:, None] + torch.arange(p, device=pos.device)  # (b, p)
        keys = int(at.max()) + 1
        row = torch.arange(n, device=pos.device)[:, None]
        self_bias = bias[:, at, :keys].transpose(0, 1)  # (b, heads, p, keys)
        h = decoder.embed_tokens(tokens)
        for i, blk in enumerate(blocks):
            sa, ca = blk.layer[0].SelfAttention, blk.layer[1].EncDecAttention
            x = blk.layer[0].layer_norm(h)
            q, k, v = torch.nn.functional.linear(x, qkv[i]).view(n, p, 3, heads, d_kv).unbind(2)
            self_k[i][row, :, :, at] = k.to(dtype)
            self_v[i][row, :, at] = v.to(dtype)
            h = h + sa.o(_attend(q.transpose(1, 2), self_k[i][..., :keys], self_v[i][:, :, :keys], self_bias))
            x = blk.layer[1].layer_norm(h)
            h = h + ca.o(_attend(split_heads(ca.q(x)), cross_k[i], cross_v[i], cross_bias))
            h = blk.layer[2](h)  # the model's own feed-forward block, residual included
        h = decoder.final_layer_norm(h)
        if cfg.scale_decoder_outputs:
            h = h * cfg.d_model**-0.5
        return model.lm_head(h).argmax(-1)

    out = torch.full((batch, steps), PAD, dtype=torch.long, device=ids.device)
    rows = torch.arange(batch, device=ids.device)  # the batch rows still in the tensors below
    token = torch.full((batch, 1), PAD, dtype=torch.long, device=ids.device)  # each row's next input
    pos = torch.zeros(batch, dtype=torch.long, device=ids.device)  # its position: the row's outputs so far
    finished = torch.zeros(batch, dtype=torch.bool, device=ids.device)
    if draft is not None:
        draft = draft[:, : max(steps - 2, 0)].to(ids.device)  # room for the first token and greedy's after the draft
    longest, step = 0, 0
    while (n_done := int(finished.sum())) < len(rows):
        if n_done >= COMPACT_SHARE * len(rows):
            keep = (~finished).nonzero()[:, 0]
            rows, token, finished, pos, cross_bias = rows[keep], token[keep], finished[keep], pos[keep], cross_bias[keep]
            cross_k, cross_v = [k[keep] for k in cross_k], [v[keep] for v in cross_v]
            self_k, self_v = self_k[:, keep], self_v[:, keep]
            draft = draft[keep] if draft is not None else None
        inputs = torch.cat([token, draft], 1) if step == 1 and draft is not None else token
        ahead = predict(inputs, pos)  # ahead[:, j]: greedy's next output if inputs[:, 1 : j + 1] stand
        guess = inputs[:, 1:]
        kept = ((ahead[:, :-1] == guess) & (guess != PAD)).cumprod(1).sum(1)  # drafted tokens that stand
        stands = (torch.arange(ahead.shape[1], device=ids.device) <= kept[:, None]) & ~finished[:, None]
        at = pos[:, None] + torch.arange(ahead.shape[1], device=ids.device)
        out[rows[:, None].expand_as(at)[stands], at[stands]] = ahead[stands]
        token = ahead.gather(1, kept[:, None])
        produced = torch.where(finished, pos, pos + kept + 1)
        longest = max(longest, int(produced.max()))
        finished = finished | (token[:, 0] == EOS) | (produced >= steps)
        pos = produced.clamp(max=steps - 1)  # a finished row's input goes nowhere it can be read
        step += 1
    return out[:, :longest]


def _attend(q: torch.Tensor, k_t: torch.Tensor, v: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """T5 attention, scores in float32 (no 1/sqrt(d) scaling: T5 folds it into the
    weights): q (b, heads, p, d_kv), k_t (b, heads, d_kv, keys), v (b, heads, keys, d_kv)
    -> (b, p, heads * d_kv)."""
    scores = torch.matmul(q, k_t).float() + bias
    weights = torch.softmax(scores, dim=-1).to(v.dtype)
    out = torch.matmul(weights, v)
    return out.transpose(1, 2).reshape(q.shape[0], q.shape[2], -1)
