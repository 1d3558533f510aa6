"""Small models this project has never seen, built the way a user would, for the foreign-model tests.

Each maps int64 ``input_ids`` [batch, max_len] to float32 scores [batch, num_labels]; none carries a ``max_len``
attribute, and each knows its pad id only as its own constructor argument. Untrained: parity and the bundle
contract do not need accuracy.
"""

from __future__ import annotations

import torch
from torch import nn


def _masked_mean(hidden: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    weights = keep.to(hidden.dtype).unsqueeze(-1)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


class MaskedBiLSTM(nn.Module):
    """Recurrent: a bidirectional LSTM over the padded batch (no packing), masked mean of its outputs."""

    def __init__(self, vocab_size: int, num_labels: int, pad_id: int, dim: int = 16):
        super().__init__()
        self.pad = pad_id
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=pad_id)
        self.lstm = nn.LSTM(dim, dim, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * dim, num_labels)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.embed(input_ids))
        return self.head(_masked_mean(out, input_ids != self.pad))


class MaskedCNN(nn.Module):
    """Convolutional: two 1D convolutions, max-pool over real tokens only (padding set to -inf first)."""

    def __init__(self, vocab_size: int, num_labels: int, pad_id: int, dim: int = 16):
        super().__init__()
        self.pad = pad_id
        self.embed = nn.Embedding(vocab_size, dim)
        self.conv3 = nn.Conv1d(dim, dim, kernel_size=3, padding=1)
        self.conv5 = nn.Conv1d(dim, dim, kernel_size=5, padding=2)
        self.head = nn.Linear(2 * dim, num_labels)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        x = self.embed(input_ids).transpose(1, 2)
        features = torch.cat([torch.relu(self.conv3(x)), torch.relu(self.conv5(x))], dim=1)
        keep = (input_ids != self.pad).unsqueeze(1)
        pooled = features.masked_fill(~keep, float("-inf")).max(dim=2).values
        # An all-pad row pools -inf everywhere: give it zeros so its scores stay finite.
        return self.head(torch.where(torch.isinf(pooled), torch.zeros_like(pooled), pooled))


class TinyAttention(nn.Module):
    """Attention: token + position embeddings, a 1-layer TransformerEncoder; takes the attention_mask."""

    def __init__(self, vocab_size: int, num_labels: int, max_positions: int, dim: int = 16):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim)
        self.positions = nn.Embedding(max_positions, dim)
        layer = nn.TransformerEncoderLayer(dim, 2, dim_feedforward=32, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
        self.head = nn.Linear(dim, num_labels)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1]).unsqueeze(0)
        hidden = self.embed(input_ids) + self.positions(positions)
        keep = attention_mask.bool()
        # An empty text would mask every key (softmax of all -inf is NaN): let it attend to position 0.
        ignore = ~keep & ~((positions == 0) & ~keep.any(dim=1, keepdim=True))
        hidden = self.encoder(hidden, src_key_padding_mask=ignore)
        return self.head(_masked_mean(hidden, keep))


class MeanBag(nn.Module):
    """Bag: EmbeddingBag-like mean of the token embeddings; with ``softmax`` it returns probabilities."""

    def __init__(self, vocab_size: int, num_labels: int, pad_id: int, dim: int = 16, softmax: bool = False):
        super().__init__()
        self.pad = pad_id
        self.softmax = softmax
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=pad_id)
        self.head = nn.Linear(dim, num_labels)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        scores = self.head(_masked_mean(self.embed(input_ids), input_ids != self.pad))
        return torch.softmax(scores, dim=-1) if self.softmax else scores


class PackedGRU(nn.Module):
    """Recurrent with packed sequences: traced, its graph keeps the dummy batch size (the known bad case)."""

    def __init__(self, vocab_size: int, num_labels: int, pad_id: int, dim: int = 16):
        super().__init__()
        self.pad = pad_id
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=pad_id)
        self.gru = nn.GRU(dim, dim, batch_first=True)
        self.head = nn.Linear(dim, num_labels)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        lengths = (input_ids != self.pad).sum(dim=1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(
            self.embed(input_ids), lengths, batch_first=True, enforce_sorted=False
        )
        _, hidden = self.gru(packed)
        return self.head(hidden[-1])


class Vocab:
    """The methods of torchtext's ``Vocab`` that the exporter uses (torchtext is not installed here)."""

    def __init__(self, itos, default_index=None):
        self._itos = list(itos)
        self._default = default_index

    def get_itos(self):
        return list(self._itos)

    def get_stoi(self):
        return {token: i for i, token in enumerate(self._itos)}

    def __len__(self):
        return len(self._itos)

    def __getitem__(self, token):
        return self.get_stoi()[token]

    def set_default_index(self, index):
        self._default = index

    def get_default_index(self):
        return self._default
