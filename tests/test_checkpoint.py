"""A damaged checkpoint stops the run in one line that says how to recover."""

from __future__ import annotations

import pytest

from genlab.checkpoint import load_checkpoint, save_checkpoint
from genlab.errors import GenlabError
from genlab.models import build_model
from helpers import tiny_config


def test_truncated_checkpoint_says_delete_and_rerun(tmp_path):
    cfg = tiny_config()
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, build_model(cfg.arch, cfg.width), cfg, {"train_acc": 0.5})
    assert load_checkpoint(path)["config"] == cfg  # the intact file reads back

    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # e.g. a copy cut off by a full disk
    with pytest.raises(GenlabError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: not a readable checkpoint (")
    assert "delete it and rerun" in message
