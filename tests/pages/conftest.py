"""Fixtures of more than one page test."""
from __future__ import annotations

import pytest
import torch


@pytest.fixture
def finished_run():
    """A finished training run with an (untrained, tiny) LeNet checkpoint: the
    page reads runs, not training, so weights need not be good."""
    from db import open_database
    from db.runs import create_run, finish_run
    from models.checkpoint import save_checkpoint
    from models.zoo import create_model
    from study.config import ensure_home, get_settings

    settings = ensure_home()
    engine = open_database(settings.database_url)
    run_id = create_run(engine, "lenet", {"model": "lenet"}, dataset_source="demo")
    torch.manual_seed(0)
    path = save_checkpoint(get_settings().checkpoint_dir / f"{run_id}-lenet.pt", create_model("lenet"),
                           extra={"run_id": run_id, "train_config": {"filter": None}})
    finish_run(engine, run_id, "finished", metrics={"test_accuracy": 0.5}, checkpoint_path=str(path))
    return engine, run_id
