"""Images per second of study.training.train against a bare PyTorch loop over
the same preloaded uint8 tensors, same model, same batch size, same device, in
the same run. Our loop must keep at least 0.9 of the bare loop's speed.

    .venv/bin/python bench/train_throughput.py [--n 4000] [--repeats 2] [--device cpu]

Each loop runs 2 epochs per repeat and is timed on its second (warm) epoch;
the loops alternate and the best repeat of each counts, to damp the noise of
a shared machine. Ends by printing ONE JSON line."""
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
import torch.nn.functional as F  # noqa: E402

from models.predict import prepare_batch, to_tensor_nchw  # noqa: E402
from models.zoo import create_model  # noqa: E402
from study.data.datasets import make_dataset  # noqa: E402
from study.ml.devices import pick_device  # noqa: E402
from study.ml.training import TrainConfig, train  # noqa: E402

BATCH = 100  # the paper's batch size


def synthetic(n: int):
    rng = np.random.default_rng(0)
    arrays = {
        "images": rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8),
        "labels": np.arange(n) % 2,
        "ids": np.array([f"train/x/{i}.png" for i in range(n)]),
        "splits": np.array(["train"] * n),
        "dup_count": np.ones(n, dtype=np.int64),
    }
    return make_dataset(arrays, fingerprint="bench", source="bench", is_demo=True, report={})


def bare_loop(model_name: str, dataset, device, epochs: int = 2) -> float:
    """The least a training loop can do: index, convert, forward, backward, step."""
    torch.manual_seed(0)
    model = create_model(model_name).to(device)
    spec = model.spec
    x = to_tensor_nchw(dataset.images).to(device)
    y = torch.tensor(np.asarray(dataset.labels), dtype=torch.long, device=device)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-4)
    n = len(y)
    seconds = 0.0
    for _ in range(epochs):
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        model.train()
        order = torch.randperm(n, device=device)
        for b in range(0, n, BATCH):
            idx = order[b:b + BATCH]
            loss = F.cross_entropy(model(prepare_batch(x[idx], spec)), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - started
    return n / seconds


def our_loop(model_name: str, dataset, device) -> float:
    config = TrainConfig(model=model_name, epochs=2, batch_size=BATCH, val_split=0.0, device=str(device))
    result = train(config, dataset)
    return len(dataset) / result.history[-1]["train_seconds"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=4000, help="training images per epoch")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = pick_device(args.device)
    dataset = synthetic(args.n)
    figures = {}
    for name in ("lenet", "lenet2"):
        bare, ours = [], []
        for _ in range(args.repeats):
            bare.append(bare_loop(name, dataset, device))
            ours.append(our_loop(name, dataset, device))
            print(f"{name}: bare {bare[-1]:.0f} img/s, ours {ours[-1]:.0f} img/s", file=sys.stderr)
        figures[name] = {"bare_img_per_s": round(max(bare), 1), "ours_img_per_s": round(max(ours), 1),
                         "ratio": round(max(ours) / max(bare), 3)}
    print(json.dumps({
        "bench": "train_throughput",
        "device": str(device),
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "n_images": args.n,
        "batch_size": BATCH,
        "results": figures,
        "min_ratio": min(f["ratio"] for f in figures.values()),
        "target_ratio": 0.9,
        "pass": all(f["ratio"] >= 0.9 for f in figures.values()),
    }))


if __name__ == "__main__":
    main()
