"""`python -m study models`: the zoo, with parameter counts and input sizes."""
from __future__ import annotations

from study.commands import emit


def register(subparsers) -> None:
    parser = subparsers.add_parser("models", help="list the model zoo (parameters, input size, Grad-CAM map)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=models_command)


def zoo_table() -> list[dict]:
    """One row per entry; parameter counts come from building each model
    without weights (the big backbones take a few seconds)."""
    import torch

    from models.zoo import create_model, list_models

    rows = []
    with torch.device("meta"):  # count parameters without allocating them
        for name in list_models():
            model = create_model(name)
            spec = model.spec
            rows.append({
                "name": name,
                "family": spec.family,
                "params": spec.num_params(model),
                "input_size": list(spec.input_size),
                "normalisation": "ImageNet mean/std" if spec.mean is not None else "[0, 1]",
                "mean": list(spec.mean) if spec.mean is not None else None,
                "std": list(spec.std) if spec.std is not None else None,
                "cam_resolution": spec.cam_resolution,
                "pretrained_available": spec.pretrained_available,
                "description": spec.description,
            })
    return rows


def models_command(args) -> int:
    rows = zoo_table()
    lines = [f"{'model':22s} {'family':9s} {'params':>12s}  {'input':>7s}  {'cam':>5s}  description"]
    for r in rows:
        side = f"{r['input_size'][0]}x{r['input_size'][1]}"
        cam = f"{r['cam_resolution']}x{r['cam_resolution']}"
        lines.append(f"{r['name']:22s} {r['family']:9s} {r['params']:>12,}  {side:>7s}  {cam:>5s}  {r['description']}")
    emit({"models": rows}, args.json, lines)
    return 0
