"""Time to accuracy: the fast detector (cifake_resnet, its own recipe) against
the paper's LeNet (the paper's recipe), trained one after the other on the
same data, on the same device, in the same run. After every epoch each model's
test accuracy is measured (outside the timed training) and printed with the
cumulative training time and images per second; at the end, the time each
took to first reach 94%, 96% and 97% test accuracy.

    .venv/bin/python bench/time_to_accuracy.py [--data ../shared/data/cifake] [--device cpu|cuda]
        [--epochs N] [--lenet-epochs N] [--max-train N] [--max-test N] [--threads T] [--models a,b]

Defaults: the full CIFAKE train and test splits, each model's recipe (epochs
included; the fast recipe's one-cycle schedule is as long as --epochs). A
short check: --max-train 2000 --max-test 1000 --epochs 2 --lenet-epochs 2.
"Seconds" are training seconds (the epoch's train and validation passes);
the temperature fit and the per-epoch test evaluation are not counted.
Progress goes to stderr; the last line printed is ONE JSON object."""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from models.predict import predict_proba  # noqa: E402
from study.data.active import load_source  # noqa: E402
from study.data.datasets import make_dataset  # noqa: E402
from study.errors import StudyError  # noqa: E402
from study.labels import predicted_labels  # noqa: E402
from study.ml.devices import device_description, pick_device  # noqa: E402
from study.ml.recipe import TrainConfig  # noqa: E402
from study.ml.training import TrainCallbacks, train  # noqa: E402

TARGETS = (0.94, 0.96, 0.97)
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifake"


def with_test_subset(dataset, max_test: int | None, seed: int = 0):
    """The dataset with at most max_test test images (as many of each class), train untouched."""
    if max_test is None:
        return dataset
    test = np.flatnonzero(dataset.splits == "test")
    labels = dataset.labels[test]
    rng = np.random.default_rng(seed)
    keep = np.concatenate([rng.permutation(test[labels == v])[:max_test // 2] for v in np.unique(labels)])
    rows = np.sort(np.concatenate([np.flatnonzero(dataset.splits != "test"), keep]))
    arrays = {"images": dataset.images[rows], "labels": dataset.labels[rows], "ids": dataset.ids[rows],
              "splits": dataset.splits[rows], "dup_count": dataset.dup_count[rows]}
    return make_dataset(arrays, fingerprint=f"{dataset.fingerprint}-test{max_test}", source=dataset.source,
                        is_demo=dataset.is_demo, report={})


class TestEveryEpoch(TrainCallbacks):
    """After each epoch: test accuracy, cumulative training seconds, images/s."""

    def __init__(self, name: str, test_images: np.ndarray, test_labels: np.ndarray):
        self.name, self.images, self.labels = name, test_images, test_labels
        self.curve: list[dict] = []
        self.seconds = 0.0
        self.n_train = 0

    def on_start(self, info: dict) -> None:
        self.n_train = info["n_train"]
        print(f"{self.name}: {info['num_params']:,} parameters, {info['n_train']:,} train images on {info['device']}",
              file=sys.stderr, flush=True)

    def on_epoch(self, record: dict) -> None:
        self.seconds += record["seconds"]
        self.last = record

    def after_epoch(self, epoch: int, model, spec) -> None:
        started = time.perf_counter()
        p_ai = predict_proba(model, self.images, spec=spec, batch_size=1000)
        accuracy = float((predicted_labels(p_ai) == self.labels).mean())
        point = {"epoch": epoch, "test_acc": round(accuracy, 4), "val_acc": self.last.get("val_acc"),
                 "seconds": round(self.seconds, 1),
                 "images_per_s": round(self.n_train / self.last["train_seconds"], 1),
                 "test_eval_seconds": round(time.perf_counter() - started, 1)}
        self.curve.append(point)
        print(f"{self.name} epoch {epoch}: test {accuracy:.4f} at {self.seconds:.1f} s "
              f"({point['images_per_s']:.0f} train img/s)", file=sys.stderr, flush=True)


def time_to(curve: list[dict], target: float) -> float | None:
    return next((p["seconds"] for p in curve if p["test_acc"] >= target), None)


def run_one(name: str, dataset, test_images, test_labels, args, device) -> dict:
    config = TrainConfig.for_model(name, epochs=args.lenet_epochs if name == "lenet" else args.epochs,
                                   max_train=args.max_train, device=str(device), num_threads=args.threads,
                                   seed=args.seed)
    probe = TestEveryEpoch(name, test_images, test_labels)
    started = time.perf_counter()
    result = train(config, dataset, [probe])
    wall = time.perf_counter() - started
    final = probe.curve[-1]["test_acc"] if probe.curve else None
    return {"recipe": config.to_dict(), "num_params": result.spec.num_params(result.model),
            "n_train": result.n_train, "curve": probe.curve, "final_test_acc": final,
            "best_test_acc": max((p["test_acc"] for p in probe.curve), default=None),
            "train_seconds": round(probe.seconds, 1), "wall_seconds": round(wall, 1),
            "temperature": (result.calibration or {}).get("temperature", 1.0),
            "time_to": {f"{int(t * 100)}%": time_to(probe.curve, t) for t in TARGETS}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="a CIFAKE source, or `demo` (default %(default)s)")
    parser.add_argument("--models", default="cifake_resnet,lenet", help="comma-separated (default %(default)s)")
    parser.add_argument("--epochs", type=int, default=None, help="the non-LeNet models' epochs (default: recipe)")
    parser.add_argument("--lenet-epochs", type=int, default=None, help="LeNet's epochs (default: the paper's)")
    parser.add_argument("--max-train", type=int, default=None, help="a random subset of N train images")
    parser.add_argument("--max-test", type=int, default=None, help="a class-balanced subset of N test images")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda (fails clearly without a GPU)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    try:
        device = pick_device(args.device)  # --device cuda without a GPU: one line, exit 2
        dataset = with_test_subset(load_source(args.data), args.max_test, args.seed)
    except StudyError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    if args.threads:
        torch.set_num_threads(args.threads)
    test = dataset.split("test")
    if len(test.labels) == 0:
        sys.exit(f"error: {args.data} has no test split")
    figures = {}
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        print(f"--- {name}", file=sys.stderr, flush=True)
        figures[name] = run_one(name, dataset, test.images, np.asarray(test.labels), args, device)
    print(json.dumps({
        "bench": "time_to_accuracy",
        "device": device_description(device),
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "data": {"source": dataset.source, "is_demo": bool(dataset.is_demo), "n_test": int(len(test.labels))},
        "max_train": args.max_train,
        "targets": list(TARGETS),
        "results": figures,
    }))


if __name__ == "__main__":
    main()
