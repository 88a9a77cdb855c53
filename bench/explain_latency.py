"""Latency of one live prediction with its Grad-CAM map, per zoo model, on the CPU.

For each model: p50 and p95 of `models.explain.explain` (forward + backward +
map) for one 32x32 image, against the baseline measured in the same run on
the same model and image: prediction alone (`models.predict.predict_proba`).
Models are untrained (latency does not depend on the weights) at their
default input size (backbones enlarged to 224, as trained and served).

    .venv/bin/python bench/explain_latency.py [--models lenet,resnet50] [--repeats 30] [--threads N]

Ends with ONE line: a JSON object with the figures, the load average and the
machine. Aims (issue #5): lenet under 30 ms, resnet50 under 400 ms."""
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

from models.explain import explain  # noqa: E402
from models.predict import predict_proba  # noqa: E402
from models.zoo import create_model  # noqa: E402

DEFAULT_MODELS = ["logreg", "lenet", "lenet2", "cnn_nopool", "cnn", "resnet50", "efficientnet_b0",
                  "densenet121", "vgg16", "vit_base_patch16_224"]
AIMS_MS = {"lenet": 30.0, "resnet50": 400.0}


def percentiles(seconds: list[float]) -> dict:
    ms = np.asarray(seconds) * 1000.0
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p95_ms": round(float(np.percentile(ms, 95)), 2)}


def timed(fn, repeats: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS))
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--method", default="gradcam")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    load_before = os.getloadavg()
    results = {}
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        torch.manual_seed(0)
        model = create_model(name).eval()
        # Interleave nothing: baseline and CAM on the same warm model, back to back.
        # The model is bound as a default: the loop deletes the name once a model is measured.
        baseline = timed(lambda model=model: predict_proba(model, image[None]), args.repeats, args.warmup)
        with_cam = timed(lambda model=model: explain(model, image, method=args.method), args.repeats, args.warmup)
        row = {"predict": percentiles(baseline), "predict_and_cam": percentiles(with_cam),
               "input_size": list(model.spec.input_size)}
        row["cam_overhead_p50"] = round(row["predict_and_cam"]["p50_ms"] / max(row["predict"]["p50_ms"], 1e-6), 2)
        if name in AIMS_MS:
            row["aim_ms"] = AIMS_MS[name]
            row["meets_aim_p50"] = row["predict_and_cam"]["p50_ms"] < AIMS_MS[name]
        results[name] = row
        print(f"{name:22s} predict p50 {row['predict']['p50_ms']:8.1f} ms  p95 {row['predict']['p95_ms']:8.1f} | "
              f"predict+{args.method} p50 {row['predict_and_cam']['p50_ms']:8.1f} ms  "
              f"p95 {row['predict_and_cam']['p95_ms']:8.1f}", file=sys.stderr, flush=True)
        del model
    print(json.dumps({
        "bench": "explain_latency", "method": args.method, "repeats": args.repeats,
        "torch_threads": torch.get_num_threads(), "cpus": os.cpu_count(), "machine": platform.processor() or
        platform.machine(), "torch": torch.__version__, "load_avg_before": [round(x, 2) for x in load_before],
        "load_avg_after": [round(x, 2) for x in os.getloadavg()], "models": results,
    }))


if __name__ == "__main__":
    main()
