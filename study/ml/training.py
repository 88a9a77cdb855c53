"""The training loop, in the manner of airbench: the whole train split held as
one uint8 tensor on the device, batches cut from it by index, converted and
normalised there; no DataLoader, no per-image Python work. Every knob is in
TrainConfig (study/ml/recipe.py). Progress goes to callbacks (CLI progress bar,
database record).

run_training() is the whole job the CLI and the training page start: record a
run, train, evaluate on the test split (and, for a filter experiment, on the
original test images too), save the checkpoint, finish the record."""
from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from db import open_database
from db import runs as db_runs
from models.checkpoint import save_checkpoint
from models.predict import prepare_batch, to_tensor_nchw
from models.registry import ModelError, ModelSpec, WeightsUnavailableError
from models.zoo import create_model
from study.config import ensure_home, get_settings
from study.data import filters
from study.errors import DatasetError, DownloadError, StudyError
from study.labels import FAKE, REAL, class_name
from study.ml import evaluation  # by module, so that a test can stand in for evaluate_model everywhere
from study.ml.devices import device_description, pick_device
from study.ml.recipe import TrainConfig


class TrainCallbacks:
    """Override what you need. should_stop() is polled between batches, so keep
    it cheap (throttle a database query yourself)."""

    def on_start(self, info: dict) -> None: ...

    def on_batch(self, epoch: int, batch: int, n_batches: int) -> None: ...

    def on_epoch(self, record: dict) -> None: ...

    def should_stop(self) -> bool:
        return False


@dataclass
class TrainResult:
    model: nn.Module
    spec: ModelSpec
    config: TrainConfig
    history: list[dict]
    status: str  # "finished" or "cancelled"
    best_epoch: int | None
    stopped_early: bool
    device: str
    n_train: int
    n_val: int
    dataset_fingerprint: str

    @property
    def seconds_per_epoch(self) -> float | None:
        return float(np.mean([r["seconds"] for r in self.history])) if self.history else None

    def summary(self) -> dict:
        """Figures of the restored (best) epoch."""
        best = next((r for r in self.history if r["epoch"] == self.best_epoch), None)
        best = best or (self.history[-1] if self.history else {})
        return {
            "best_epoch": self.best_epoch,
            "epochs_run": len(self.history),
            "stopped_early": self.stopped_early,
            "train_loss": best.get("train_loss"),
            "train_acc": best.get("train_acc"),
            "val_loss": best.get("val_loss"),
            "val_acc": best.get("val_acc"),
            "n_train": self.n_train,
            "n_val": self.n_val,
        }


# ---------------------------------------------------------------- helpers

def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def build_model(name: str, cfg: dict | None = None) -> nn.Module:
    """create_model with the zoo's errors turned into the study's."""
    try:
        return create_model(name, **(cfg or {}))
    except WeightsUnavailableError as err:
        raise DownloadError(str(err)) from err
    except ModelError as err:
        raise StudyError(str(err)) from err


def check_both_classes(labels: np.ndarray, what: str) -> None:
    present = set(np.unique(labels).tolist())
    if present != {REAL, FAKE}:
        have = ", ".join(class_name(v) if v in (REAL, FAKE) else str(v) for v in sorted(present)) or "no images"
        raise DatasetError(f"{what} needs both classes, {class_name(REAL)} ({REAL}) and {class_name(FAKE)} "
                           f"({FAKE}); it has only: {have}")


def split_train_val(labels: np.ndarray, val_split: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified, seeded: each class contributes val_split of its images."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for value in (REAL, FAKE):
        rows = rng.permutation(np.flatnonzero(labels == value))
        n_val = int(round(len(rows) * val_split))
        val.append(rows[:n_val])
        train.append(rows[n_val:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def augment_batch(x: torch.Tensor, max_degrees: float = 15.0, max_shift: float = 0.1) -> torch.Tensor:
    """The paper's augmentation (rotations, width/height shifts, horizontal and
    vertical flips) as ONE affine warp of the whole [0, 1] batch: every image
    gets its own random matrix, edge pixels fill the border (Keras' "nearest")."""
    n = x.shape[0]
    dev = x.device
    angle = (torch.rand(n, device=dev) * 2 - 1) * math.radians(max_degrees)
    shift = (torch.rand(n, 2, device=dev) * 2 - 1) * (2 * max_shift)  # grid units span 2
    flip = torch.where(torch.rand(n, 2, device=dev) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack([
        torch.stack([cos * flip[:, 0], -sin * flip[:, 1], shift[:, 0]], dim=1),
        torch.stack([sin * flip[:, 0], cos * flip[:, 1], shift[:, 1]], dim=1),
    ], dim=1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


@torch.no_grad()
def _loss_and_accuracy(model, spec, x_u8, y, batch_size, device, autocast) -> tuple[float, float]:
    model.eval()
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    for start in range(0, len(y), batch_size):
        xb, yb = x_u8[start:start + batch_size], y[start:start + batch_size]
        with autocast():
            logits = model(prepare_batch(xb, spec))
        loss_sum += F.cross_entropy(logits.float(), yb, reduction="sum")
        correct += (logits.argmax(1) == yb).sum()
    return loss_sum.item() / len(y), correct.item() / len(y)


# ---------------------------------------------------------------- the loop

def train(config: TrainConfig, dataset, callbacks: Sequence[TrainCallbacks] = ()) -> TrainResult:
    """Train config.model on the dataset's train split; returns the model with
    the weights of its best validation epoch."""
    config.validate()
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    seed_everything(config.seed)

    part = dataset.split("train")
    images, labels = part.images, part.labels
    if config.max_train is not None and config.max_train < len(labels):
        rows = np.sort(np.random.default_rng(config.seed).choice(len(labels), config.max_train, replace=False))
        images, labels = images[rows], labels[rows]
    check_both_classes(labels, "training")
    images = filters.apply(config.filter, images)
    train_rows, val_rows = split_train_val(labels, config.val_split, config.seed)
    check_both_classes(labels[train_rows], "the training part of the split")

    device = pick_device(config.device)
    model_cfg = dict(config.model_cfg)
    if images.shape[-1] != 3:
        model_cfg.setdefault("in_chans", int(images.shape[-1]))
    model = build_model(config.model, model_cfg).to(device)
    spec: ModelSpec = model.spec
    for cb in callbacks:
        cb.on_start({"device": device_description(device), "n_train": len(train_rows), "n_val": len(val_rows),
                     "num_params": spec.num_params(model)})

    # One uint8 tensor per part, on the device: 4x smaller than floats, and the
    # float conversion happens per batch where the compute is.
    x_all = to_tensor_nchw(np.ascontiguousarray(images))
    y_all = torch.tensor(np.asarray(labels), dtype=torch.long)
    x_tr, y_tr = x_all[train_rows].to(device), y_all[train_rows].to(device)
    x_va, y_va = x_all[val_rows].to(device), y_all[val_rows].to(device)
    del x_all

    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    use_amp = config.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    autocast = (lambda: torch.autocast("cuda", dtype=torch.float16)) if use_amp else (
        lambda: torch.autocast(device.type, enabled=False))
    transform = augment_batch if config.augment else None
    order_rng = torch.Generator().manual_seed(config.seed)

    n = len(y_tr)
    n_batches = math.ceil(n / config.batch_size)
    history: list[dict] = []
    best_loss, best_state, best_epoch, waited = math.inf, None, None, 0
    status, stopped_early = "finished", False
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        model.train()
        order = torch.randperm(n, generator=order_rng).to(device)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        seen = 0
        for b in range(n_batches):
            idx = order[b * config.batch_size:(b + 1) * config.batch_size]
            xb, yb = prepare_batch(x_tr[idx], spec, transform), y_tr[idx]
            with autocast():
                logits = model(xb)
                loss = F.cross_entropy(logits.float(), yb)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            # Sums stay on the device: no sync per batch.
            loss_sum += loss.detach() * len(idx)
            correct += (logits.detach().argmax(1) == yb).sum()
            seen += len(idx)
            for cb in callbacks:
                cb.on_batch(epoch, b + 1, n_batches)
            if any(cb.should_stop() for cb in callbacks):
                status = "cancelled"
                break
        if status == "cancelled":
            break
        train_seconds = time.perf_counter() - started
        record = {"epoch": epoch, "train_loss": loss_sum.item() / seen, "train_acc": correct.item() / seen,
                  "val_loss": None, "val_acc": None}
        if len(y_va):
            record["val_loss"], record["val_acc"] = _loss_and_accuracy(
                model, spec, x_va, y_va, max(config.batch_size, 500), device, autocast)
        record["train_seconds"] = round(train_seconds, 3)
        record["seconds"] = round(time.perf_counter() - started, 3)
        history.append(record)
        for cb in callbacks:
            cb.on_epoch(dict(record))
        if record["val_loss"] is None:
            best_epoch = epoch
            continue
        if record["val_loss"] < best_loss:
            best_loss, best_epoch, waited = record["val_loss"], epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            waited += 1
            if waited >= config.patience and epoch < config.epochs:
                stopped_early = True
                break
    if best_state is not None:
        model.load_state_dict(best_state)  # early stopping keeps the best epoch, as Keras' restore_best_weights
    model.eval()
    return TrainResult(model, spec, config, history, status, best_epoch, stopped_early, device_description(device),
                       len(train_rows), len(val_rows), dataset.fingerprint)


# ---------------------------------------------------------------- the whole job

class RunRecorder(TrainCallbacks):
    """Writes each epoch to the run's database record and polls for a cancel
    request at most every `poll_seconds` (a query per batch would be waste)."""

    def __init__(self, engine, run_id: int, poll_seconds: float = 2.0):
        self.engine, self.run_id, self.poll_seconds = engine, run_id, poll_seconds
        self._last_poll = time.monotonic()

    def on_start(self, info: dict) -> None:
        db_runs.set_device(self.engine, self.run_id, info["device"])

    def on_epoch(self, record: dict) -> None:
        db_runs.record_epoch(self.engine, self.run_id, record)

    def should_stop(self) -> bool:
        now = time.monotonic()
        if now - self._last_poll < self.poll_seconds:
            return False
        self._last_poll = now
        return db_runs.cancel_requested(self.engine, self.run_id)


def checkpoint_path_for(run_id: int, model: str):
    return get_settings().checkpoint_dir / f"{run_id}-{model}.pt"


def evaluate_on_originals(result: TrainResult, dataset) -> dict:
    """The paper's Table 4: a model trained on filtered images, tested on the
    ORIGINAL (unfiltered) test images. A model whose filter changed the number
    of channels (SRM: one) cannot take them: {"skipped": why}."""
    if result.spec.in_chans != 3:
        return {"skipped": f"the model takes {result.spec.in_chans} channel(s); the original images have 3"}
    return evaluation.evaluate_model(result.model, dataset, "test", spec=result.spec, image_filter=None)


def run_training(config: TrainConfig, dataset, *, engine=None, callbacks: Sequence[TrainCallbacks] = (),
                 run_id: int | None = None, test_original: bool = False) -> dict:
    """Record a run, train, evaluate on the test split (when the dataset has
    one), save the checkpoint, finish the record. Returns the run's summary:
    run_id, status, checkpoint, metrics, history, seconds_per_epoch, device.

    test_original (a filter experiment): also test on the original test images,
    stored as metrics["test_original"], here in the training's own process so
    that whoever settles a background job only reads it. Should that extra test
    fail, the training stands and metrics["test_original"] says why ({"error"}).

    An exception marks the run "failed" with its text and is re-raised; a
    cancel request ends it as "cancelled" without a checkpoint."""
    config.validate()
    settings = ensure_home()
    engine = engine or open_database(settings.database_url)
    if run_id is None:  # the training page may have created the record already
        run_id = db_runs.create_run(engine, config.model, config.to_dict(), dataset_fingerprint=dataset.fingerprint,
                            dataset_source=str(getattr(dataset, "source", "")))
    try:
        result = train(config, dataset, [RunRecorder(engine, run_id), *callbacks])
        summary = {"run_id": run_id, "status": result.status, "model": config.model, "device": result.device,
                   "history": result.history, "seconds_per_epoch": result.seconds_per_epoch,
                   "num_params": result.spec.num_params(result.model), "checkpoint": None}
        if result.status == "cancelled":
            db_runs.finish_run(engine, run_id, "cancelled", metrics=result.summary())
            return {**summary, "metrics": result.summary()}
        metrics = result.summary()
        if np.any(dataset.splits == "test"):
            metrics["test"] = evaluation.evaluate_model(result.model, dataset, "test", image_filter=config.filter)
            metrics["test_accuracy"] = metrics["test"]["accuracy"]
            if test_original:
                try:
                    metrics["test_original"] = evaluate_on_originals(result, dataset)
                except Exception as err:  # the training stands; say why the extra test is missing
                    metrics["test_original"] = {"error": f"{type(err).__name__}: {err}"}
        elif test_original:
            metrics["test_original"] = {"skipped": "the dataset has no test split"}
        path = save_checkpoint(
            checkpoint_path_for(run_id, config.model), result.model, metrics=metrics,
            dataset_fingerprint=dataset.fingerprint,
            extra={"train_config": config.to_dict(), "run_id": run_id, "device": result.device},
        )
        db_runs.finish_run(engine, run_id, "finished", metrics=metrics, checkpoint_path=str(path))
        return {**summary, "metrics": metrics, "checkpoint": str(path)}
    except BaseException as err:
        text = f"{type(err).__name__}: {err}" if not isinstance(err, KeyboardInterrupt) else "interrupted"
        db_runs.finish_run(engine, run_id, "failed", error=text)
        raise
