"""The training loop as ports of the original homework write it: the baseline genlab is compared to.

DataLoader over a TensorDataset (per-sample indexing + collate on the host), a `.item()`
host sync for loss and accuracy every step, and one random test batch as the per-epoch
evaluation. Same network, initialisation and Adam as genlab.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def plain_train(model, optimizer, x_train, y_train, batch_size: int) -> tuple[float, float]:
    """One epoch; returns the mean training loss and accuracy, as a port would print them."""
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=batch_size, shuffle=True)
    criterion = nn.CrossEntropyLoss()
    model.train()
    losses, accuracies = [], []
    for xb, yb in loader:
        optimizer.zero_grad()
        out = model(xb)
        loss = criterion(out, yb)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        accuracies.append((out.argmax(1) == yb).float().mean().item())
    return sum(losses) / len(losses), sum(accuracies) / len(accuracies)


def plain_evaluate(model, x_test, y_test, batch_size: int) -> tuple[float, float]:
    """Loss and accuracy on one random test batch."""
    model.eval()
    with torch.no_grad():
        idx = torch.randint(len(x_test), (batch_size,))
        out = model(x_test[idx])
        loss = nn.functional.cross_entropy(out, y_test[idx]).item()
        accuracy = (out.argmax(1) == y_test[idx]).float().mean().item()
    return loss, accuracy
