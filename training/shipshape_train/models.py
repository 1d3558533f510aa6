"""The two shipped models. Both take int64 ``input_ids`` [batch, max_len] and return float32
``logits`` [batch, num_labels]; padding is recognised from ``pad_id``.

Empty texts (all-pad rows) give finite logits in torch and in the exported ONNX graph.
"""

from __future__ import annotations

import torch
from torch import nn


def masked_mean(hidden: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Mean of ``hidden`` [B, T, D] over positions where ``keep`` [B, T] is true; all-false -> zeros."""
    weights = keep.to(hidden.dtype).unsqueeze(-1)
    total = (hidden * weights).sum(dim=1)
    count = weights.sum(dim=1).clamp(min=1.0)
    return total / count


class NewsBag(nn.Module):
    """Bag of embeddings: embedding -> mean over non-pad tokens -> linear."""

    kind = "news-bag"

    def __init__(self, vocab_size: int, num_labels: int = 4, dim: int = 64, pad_id: int = 1, max_len: int = 72):
        super().__init__()
        self.pad_id = pad_id
        self.max_len = max_len
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=pad_id)
        self.dropout = nn.Dropout(0.2)
        self.classifier = nn.Linear(dim, num_labels)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        keep = input_ids != self.pad_id
        pooled = masked_mean(self.embedding(input_ids), keep)
        return self.classifier(self.dropout(pooled))


class NewsTransformer(nn.Module):
    """Token + learned position embeddings -> 2-layer TransformerEncoder -> masked mean -> linear."""

    kind = "news-transformer"

    def __init__(
        self,
        vocab_size: int,
        num_labels: int = 4,
        d_model: int = 128,
        nhead: int = 4,
        dim_feedforward: int = 256,
        num_layers: int = 2,
        dropout: float = 0.1,
        pad_id: int = 1,
        max_len: int = 72,
    ):
        super().__init__()
        self.pad_id = pad_id
        self.max_len = max_len
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=pad_id)
        self.positions = nn.Embedding(max_len, d_model)
        layer = nn.TransformerEncoderLayer(
            d_model, nhead, dim_feedforward=dim_feedforward, dropout=dropout, batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(d_model, num_labels)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        seq_len = input_ids.shape[1]
        positions = torch.arange(seq_len, device=input_ids.device).unsqueeze(0)
        hidden = self.embedding(input_ids) + self.positions(positions)
        pad = input_ids == self.pad_id
        # A fully padded row would make every attention score -inf (softmax -> NaN): let such a row
        # attend to position 0. Pooling still uses the real pad mask (all-pad row -> zero vector).
        first = (positions == 0).expand_as(pad)
        all_pad = pad.all(dim=1, keepdim=True).expand_as(pad)
        attn_pad = pad & ~(first & all_pad)
        hidden = self.encoder(hidden, src_key_padding_mask=attn_pad)
        pooled = masked_mean(self.norm(hidden), ~pad)
        return self.classifier(self.dropout(pooled))


def build_model(kind: str, vocab_size: int, num_labels: int = 4, pad_id: int = 1, max_len: int = 72) -> nn.Module:
    if kind == "news-bag":
        return NewsBag(vocab_size, num_labels, pad_id=pad_id, max_len=max_len)
    if kind == "news-transformer":
        return NewsTransformer(vocab_size, num_labels, pad_id=pad_id, max_len=max_len)
    raise ValueError(f"unknown model kind {kind!r}; known: news-bag, news-transformer")
