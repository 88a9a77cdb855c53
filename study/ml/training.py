"""The training loop, in the manner of airbench: the whole train split held as
one uint8 tensor on the device, batches cut from it by index, converted and
normalised there; no DataLoader, no per-image Python work. Every knob is in
TrainConfig (study/ml/recipe.py). Progress goes to callbacks (CLI progress bar,
database record).

The recipe decides the optimiser (the paper's Adam, or SGD with Nesterov
momentum), the schedule (constant, or one-cycle: linear warm-up then linear
decay to 0, stepped per batch), label smoothing and augmentation (none, the
paper's affine warps, flips, or flips plus the robustness perturbations).
After the last epoch the best epoch's weights are restored and, unless told
not to, a temperature is fitted on the validation split
(study/ml/calibration.py) and set on the model, so the checkpoint and every
figure after it give calibrated probabilities.

Mixed precision on CUDA: bfloat16 where the GPU has it (no loss scaling
needed), else float16 with a gradient scaler. On a CPU float32, or bfloat16
autocast when the recipe asks (cpu_bf16: about 1.5x the images per second of
cifake_resnet on an AVX512-BF16 CPU). The temperature fit and the test
evaluation always run in float32.

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
from models.calibration import set_temperature
from models.checkpoint import save_checkpoint
from models.predict import prepare_batch, to_tensor_nchw
from models.registry import ModelError, ModelSpec, WeightsUnavailableError
from models.zoo import create_model
from study.config import ensure_home, get_settings
from study.data import filters, perturbations
from study.errors import DatasetError, DownloadError, StudyError
from study.labels import FAKE, REAL, class_name
from study.ml import calibration
from study.ml import evaluation  # by module, so that a test can stand in for evaluate_model everywhere
from study.ml.devices import device_description, pick_device
from study.ml.recipe import TrainConfig


class TrainCallbacks:
    """Override what you need. should_stop() is polled between batches, so keep
    it cheap (throttle a database query yourself)."""

    def on_start(self, info: dict) -> None: ...

    def on_batch(self, epoch: int, batch: int, n_batches: int) -> None: ...

    def on_epoch(self, record: dict) -> None: ...

    def after_epoch(self, epoch: int, model: nn.Module, spec: ModelSpec) -> None:
        """After on_epoch, outside the epoch's timing: the model as it is now (in
        eval mode; leave it so). For measurements such as a test accuracy per epoch."""

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
    calibration: dict | None = None  # calibration.calibration_report on the validation split; None if not fitted

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
            "recipe": self.config.recipe,
            "temperature": (self.calibration or {}).get("temperature", 1.0),
            "val_calibration": self.calibration,
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


def flip_batch(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Each image of a (N, C, H, W) batch mirrored left-right with probability 1/2."""
    flip = torch.rand(x.shape[0], generator=generator).to(x.device) < 0.5
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)


class RobustAugment:
    """Flips, and half of the images re-compressed, blurred, noised or rescaled
    at a random level (study/data/perturbations.py, the very functions the
    robustness report tests with). The perturbations run on the CPU in uint8,
    as they would happen to a real image; the batch then goes back to its device."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        images = (x.detach().clamp(0, 1) * 255).round().to("cpu", torch.uint8).permute(0, 2, 3, 1).numpy()
        if images.shape[-1] == 3:  # a filter's other channel counts are not images to perturb
            images = perturbations.random_perturbation(images, self.rng)
        back = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).to(x.device)
        return flip_batch(back.float().div_(255.0), self.generator)


def make_transform(augment: str, seed: int):
    """The training transform of a recipe's `augment` (on [0, 1] batches); None for none."""
    if augment == "paper":
        return augment_batch
    if augment == "flip":
        generator = torch.Generator().manual_seed(seed)
        return lambda x: flip_batch(x, generator)
    if augment == "robust":
        return RobustAugment(seed)
    return None


def make_optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum, nesterov=True,
                               weight_decay=config.weight_decay)
    return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


def lr_factor(step: int, total: int, schedule: str, warmup: float) -> float:
    """The share of the peak learning rate at a step (0-based) of `total`:
    constant 1, or one-cycle: linear rise over the first `warmup` share of the
    steps (starting one step above 0, not at 0), then linear fall to 0."""
    if schedule != "onecycle" or total <= 1:
        return 1.0
    rise = max(1, int(round(warmup * total)))
    if step < rise:
        return (step + 1) / rise
    return max(0.0, (total - step) / max(1, total - rise))


def mixed_precision(device: torch.device, wanted: bool, cpu_bf16: bool = False) -> tuple[torch.dtype | None, bool]:
    """(autocast dtype or None, whether a gradient scaler is needed)."""
    if device.type == "cpu" and cpu_bf16:
        return torch.bfloat16, False  # bfloat16 has float32's range: no loss scaling
    if not wanted or device.type != "cuda":
        return None, False
    if torch.cuda.is_bf16_supported():
        return torch.bfloat16, False
    return torch.float16, True


@torch.no_grad()
def raw_logits(model, spec, x_u8, batch_size) -> torch.Tensor:
    """Float32 logits (N, 2) on the CPU, in eval mode, without autocast."""
    model.eval()
    out = [model(prepare_batch(x_u8[start:start + batch_size], spec)).float().cpu()
           for start in range(0, len(x_u8), batch_size)]
    return torch.cat(out) if out else torch.empty(0, 2)


def calibrate(model, spec, x_va, y_va, batch_size) -> dict | None:
    """Fit the temperature on the validation images and set it on the model;
    the validation figures before and after. None without validation images."""
    if len(y_va) == 0:
        return None
    set_temperature(model, 1.0)
    logits = raw_logits(model, spec, x_va, batch_size).double().numpy()
    labels = y_va.cpu().numpy()
    temperature = calibration.fit_temperature(logits, labels)
    set_temperature(model, temperature)
    return {**calibration.calibration_report(labels, logits, temperature), "n": int(len(labels))}


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

    optimizer = make_optimizer(config, model)
    amp_dtype, needs_scaler = mixed_precision(device, config.amp, config.cpu_bf16)
    scaler = torch.amp.GradScaler("cuda", enabled=needs_scaler)
    autocast = (lambda: torch.autocast(device.type, dtype=amp_dtype)) if amp_dtype is not None else (
        lambda: torch.autocast(device.type, enabled=False))
    transform = make_transform(config.augment, config.seed)
    order_rng = torch.Generator().manual_seed(config.seed)

    n = len(y_tr)
    n_batches = math.ceil(n / config.batch_size)
    total_steps = n_batches * config.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, total_steps, config.schedule, config.warmup))
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
                loss = F.cross_entropy(logits.float(), yb, label_smoothing=config.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
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
        model.eval()
        for cb in callbacks:
            if hasattr(cb, "after_epoch"):  # duck-typed callbacks (the reproduction's Tracker) may lack it
                cb.after_epoch(epoch, model, spec)
        if record["val_loss"] is None:
            best_epoch = epoch
            continue
        if record["val_loss"] < best_loss:
            best_loss, best_epoch, waited = record["val_loss"], epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            waited += 1
            if config.patience is not None and waited >= config.patience and epoch < config.epochs:
                stopped_early = True
                break
    if best_state is not None:
        model.load_state_dict(best_state)  # early stopping keeps the best epoch, as Keras' restore_best_weights
    fitted = None
    if config.calibrate and status == "finished":
        fitted = calibrate(model, spec, x_va, y_va, max(config.batch_size, 500))
    model.eval()
    return TrainResult(model, spec, config, history, status, best_epoch, stopped_early, device_description(device),
                       len(train_rows), len(val_rows), dataset.fingerprint, fitted)


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
            extra={"train_config": config.to_dict(), "run_id": run_id, "device": result.device,
                   "input_side": int(dataset.images.shape[1])},
        )
        db_runs.finish_run(engine, run_id, "finished", metrics=metrics, checkpoint_path=str(path))
        return {**summary, "metrics": metrics, "checkpoint": str(path)}
    except BaseException as err:
        text = f"{type(err).__name__}: {err}" if not isinstance(err, KeyboardInterrupt) else "interrupted"
        db_runs.finish_run(engine, run_id, "failed", error=text)
        raise
