"""The training loop, evaluation and run records, on small synthetic data."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from db import open_database
from db.runs import cancel_requested, create_run, finish_run, get_run, list_runs, record_epoch, request_cancel
from study.config import get_settings
from study.data.datasets import make_dataset
from study.errors import DatasetError, StudyError
from study.ml.evaluation import compute_metrics, evaluate_model, open_checkpoint
from study.ml.training import TrainCallbacks, TrainConfig, augment_batch, run_training, train


def separable_dataset(n_train=600, n_test=200, seed=0, labels_only=None, leak=0):
    """REAL: smooth noise; FAKE: the same plus a strong checkerboard, learnable in
    a few dozen steps. `leak` test FAKE images are copies of train images."""
    rng = np.random.default_rng(seed)
    parts = {"images": [], "labels": [], "ids": [], "splits": []}
    checker = ((np.indices((32, 32)).sum(0) % 2) * 2 - 1)[..., None] * 40.0
    for split, n in (("test", n_test), ("train", n_train)):
        labels = np.arange(n) % 2 if labels_only is None else np.full(n, labels_only)
        base = rng.uniform(60, 190, (n, 1, 1, 3)) + rng.normal(0, 6, (n, 32, 32, 3))
        images = np.clip(base + labels[:, None, None, None] * checker, 0, 255).astype(np.uint8)
        parts["images"].append(images)
        parts["labels"].append(labels)
        parts["ids"] += [f"{split}/{'FAKE' if y else 'REAL'}/{i}.png" for i, y in enumerate(labels)]
        parts["splits"] += [split] * n
    arrays = {k: np.concatenate(v) if k in ("images", "labels") else np.array(v) for k, v in parts.items()}
    if leak:
        fake_test = np.flatnonzero((arrays["splits"] == "test") & (arrays["labels"] == 1))[:leak]
        fake_train = np.flatnonzero((arrays["splits"] == "train") & (arrays["labels"] == 1))[:leak]
        arrays["images"][fake_test] = arrays["images"][fake_train]
    arrays["dup_count"] = np.ones(len(arrays["labels"]), dtype=np.int64)
    return make_dataset(arrays, fingerprint=f"synthetic-{seed}-{leak}", source="synthetic", is_demo=True, report={})


QUICK = dict(model="lenet", epochs=2, batch_size=50, lr=1e-3, device="cpu")


def test_short_training_run_beats_chance_clearly():
    dataset = separable_dataset()
    result = train(TrainConfig(**QUICK), dataset)
    assert result.status == "finished"
    assert len(result.history) == 2 and {"train_loss", "val_acc", "seconds"} <= set(result.history[0])
    metrics = evaluate_model(result.model, dataset, "test")
    assert metrics["accuracy"] > 0.9
    (real_ok, _), (_, fake_ok) = metrics["confusion_matrix"]
    assert real_ok + fake_ok == round(metrics["accuracy"] * metrics["n"])


@pytest.mark.slow
def test_training_on_the_demo_pool_beats_chance():
    from study.data.demo import demo_pool

    dataset = demo_pool()
    # The demo pool's cues are faint (grain, a weak periodic texture): a model
    # that keeps full resolution finds them within a few epochs.
    result = train(TrainConfig(model="cnn_nopool", epochs=3, batch_size=32, lr=1e-3, device="cpu"), dataset)
    assert evaluate_model(result.model, dataset, "test")["accuracy"] > 0.6


def test_same_seed_same_metrics_on_cpu():
    dataset = separable_dataset(n_train=200, n_test=40)
    config = dict(QUICK, model="cnn", epochs=2, augment=True, max_train=160, model_cfg={"dropout": 0.2})
    first = train(TrainConfig(**config, seed=3), dataset)
    second = train(TrainConfig(**config, seed=3), dataset)
    strip = lambda h: [{k: v for k, v in r.items() if "seconds" not in k} for r in h]  # noqa: E731
    assert strip(first.history) == strip(second.history)


def test_early_stopping_restores_the_best_epoch():
    dataset = separable_dataset(n_train=200, n_test=40)
    # lr so high the loss blows up after the first epochs: validation stops improving
    result = train(TrainConfig(**dict(QUICK, model="logreg", epochs=8, lr=0.5, patience=1)), dataset)
    losses = {r["epoch"]: r["val_loss"] for r in result.history}
    assert result.best_epoch == min(losses, key=losses.get)
    if result.stopped_early:
        assert len(result.history) == result.best_epoch + 1


def test_cancel_between_batches_ends_as_cancelled():
    class StopAfterThree(TrainCallbacks):
        batches = 0

        def on_batch(self, epoch, batch, n_batches):
            self.batches += 1

        def should_stop(self):
            return self.batches >= 3

    stopper = StopAfterThree()
    result = train(TrainConfig(**dict(QUICK, epochs=5)), separable_dataset(), [stopper])
    assert result.status == "cancelled" and stopper.batches == 3 and result.history == []


def test_dataset_with_one_class_is_refused():
    with pytest.raises(DatasetError, match="only: FAKE"):
        train(TrainConfig(**QUICK), separable_dataset(labels_only=1))


def test_bad_config_and_unknown_filter_are_study_errors():
    with pytest.raises(StudyError, match="epochs"):
        train(TrainConfig(**dict(QUICK, epochs=0)), separable_dataset())
    with pytest.raises(StudyError, match="unknown model"):
        train(TrainConfig(**dict(QUICK, model="lenet9")), separable_dataset())
    with pytest.raises(StudyError, match="unknown filter"):
        train(TrainConfig(**dict(QUICK, filter="sepia")), separable_dataset())


def test_augmentation_keeps_shape_range_and_changes_images():
    torch.manual_seed(0)
    x = torch.rand(16, 3, 32, 32)
    y = augment_batch(x)
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1
    assert not torch.allclose(x, y)


def test_metrics_report_per_class_and_confusion():
    labels = np.array([0, 0, 0, 1, 1, 1])
    p_ai = np.array([0.1, 0.2, 0.9, 0.8, 0.7, 0.4])
    m = compute_metrics(labels, p_ai)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["confusion_matrix"] == [[2, 1], [1, 2]]
    assert m["per_class"]["FAKE"]["precision"] == pytest.approx(2 / 3)
    assert m["per_class"]["REAL"]["support"] == 3


def test_leak_free_accuracy_drops_test_images_also_in_train():
    dataset = separable_dataset(n_train=100, n_test=40, leak=5)
    result = train(TrainConfig(**dict(QUICK, epochs=1)), dataset)
    m = evaluate_model(result.model, dataset, "test")
    assert m["n_leaked"] == 5 and m["n_leak_free"] == 35 and m["accuracy_leak_free"] is not None


def test_run_training_records_run_and_checkpoint_round_trips():
    dataset = separable_dataset()
    summary = run_training(TrainConfig(**QUICK), dataset)
    engine = open_database(get_settings().database_url)
    run = get_run(engine, summary["run_id"])
    assert run["status"] == "finished" and len(run["history"]) == 2
    assert run["metrics"]["test"]["accuracy"] == summary["metrics"]["test_accuracy"] > 0.9
    assert run["checkpoint_path"].endswith(f"{summary['run_id']}-lenet.pt")
    model, spec, meta = open_checkpoint(run["checkpoint_path"])
    again = evaluate_model(model, dataset, "test")
    assert again["accuracy"] == summary["metrics"]["test_accuracy"]
    assert meta["dataset_fingerprint"] == dataset.fingerprint
    assert meta["extra"]["train_config"]["lr"] == QUICK["lr"]


def test_run_training_tests_a_filter_run_on_the_original_images_when_asked():
    """The paper's Table 4, stored with the run (and the checkpoint) by the training itself."""
    dataset = separable_dataset(n_train=200, n_test=40)
    engine = open_database(get_settings().database_url)
    config = dict(QUICK, epochs=1, filter="median")
    plain = run_training(TrainConfig(**config), dataset)
    assert "test_original" not in plain["metrics"]  # only when asked
    asked = run_training(TrainConfig(**config), dataset, test_original=True)
    run = get_run(engine, asked["run_id"])
    original = run["metrics"]["test_original"]
    model, spec, meta = open_checkpoint(run["checkpoint_path"])
    assert original == asked["metrics"]["test_original"] == meta["metrics"]["test_original"]
    assert original == evaluate_model(model, dataset, "test", spec=spec, image_filter=None)
    assert run["metrics"]["test"] == evaluate_model(model, dataset, "test", spec=spec, image_filter="median")
    # SRM leaves one channel: such a model cannot take the original RGB images.
    srm = run_training(TrainConfig(**dict(config, filter="srm")), dataset, test_original=True)
    assert "1 channel" in srm["metrics"]["test_original"]["skipped"] and "accuracy" in srm["metrics"]["test"]


def test_a_failing_run_is_marked_failed_with_its_error(monkeypatch):
    import study.ml.training as training

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(training, "train", boom)
    with pytest.raises(RuntimeError):
        run_training(TrainConfig(**QUICK), separable_dataset())
    run = list_runs(open_database(get_settings().database_url))[0]
    assert run["status"] == "failed" and "disk on fire" in run["error"]


def test_run_records_history_and_cancel_requests():
    engine = open_database(get_settings().database_url)
    run_id = create_run(engine, "lenet", {"epochs": 3}, dataset_fingerprint="f")
    assert not cancel_requested(engine, run_id)
    record_epoch(engine, run_id, {"epoch": 1, "train_loss": 0.5})
    record_epoch(engine, run_id, {"epoch": 2, "train_loss": 0.4})
    assert request_cancel(engine, run_id) and cancel_requested(engine, run_id)
    finish_run(engine, run_id, "cancelled")
    run = get_run(engine, run_id)
    assert [r["epoch"] for r in run["history"]] == [1, 2]
    assert run["status"] == "cancelled" and run["finished_at"] is not None
    assert not request_cancel(engine, run_id)  # only a running run can be cancelled
    assert [r["id"] for r in list_runs(engine, status="cancelled")] == [run_id]
