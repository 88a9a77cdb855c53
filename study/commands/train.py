"""`python -m study train | evaluate | predict`: train a zoo model, score a
checkpoint on a split, or give P(AI-generated) for image files."""
from __future__ import annotations

import sys
from pathlib import Path

from study.commands import emit
from study.errors import StudyError
from study.labels import CLASS_NAMES, class_name, predicted_label
from study.ml.recipe import AUGMENTS, FAST_RECIPE, OPTIMIZERS, SCHEDULES, TrainConfig

PAPER = TrainConfig()  # the paper's recipe (study/ml/recipe.py loads no torch)
FAST = TrainConfig.for_model("cifake_resnet")


def _default(field: str) -> str:
    """The help's word on a default: the paper's, and the fast detector's where it differs."""
    paper, fast = getattr(PAPER, field), getattr(FAST, field)
    if field in FAST_RECIPE and fast != paper:
        return f"(default: the model's recipe; paper {paper}, cifake_resnet {fast})"
    return f"(default {paper})"


def register(subparsers) -> None:
    train = subparsers.add_parser(
        "train", help="train a zoo model with its recipe (the paper's; cifake_resnet*: the fast one) and evaluate it")
    train.add_argument("--model", required=True, help="a zoo entry (see `python -m study models`)")
    _data_argument(train)
    _resolution_argument(train, "default: the model's input size, e.g. 32 for the paper's CNNs and cifake_resnet")
    # Every option defaults to None: the model's recipe (TrainConfig.for_model) fills in what is not given.
    train.add_argument("--epochs", type=int, default=None, help=_default("epochs"))
    train.add_argument("--batch-size", type=int, default=None, help=_default("batch_size"))
    train.add_argument("--lr", type=float, default=None, help="the (peak) learning rate " + _default("lr"))
    train.add_argument("--weight-decay", type=float, default=None, help="L2 strength " + _default("weight_decay"))
    train.add_argument("--val-split", type=float, default=None, help=_default("val_split"))
    train.add_argument("--patience", type=int, default=None,
                       help="early-stopping patience in epochs " + _default("patience"))
    train.add_argument("--seed", type=int, default=None, help=_default("seed"))
    train.add_argument("--augment", nargs="?", const="paper", default=None, choices=AUGMENTS,
                       help="paper (alone: --augment): random rotations, shifts and flips; flip: mirror images; "
                            "robust: flips plus JPEG, blur, noise and rescaling at random levels " + _default("augment"))
    train.add_argument("--optimizer", default=None, choices=OPTIMIZERS, help=_default("optimizer"))
    train.add_argument("--momentum", type=float, default=None, help="SGD's Nesterov momentum " + _default("momentum"))
    train.add_argument("--schedule", default=None, choices=SCHEDULES,
                       help="constant, or onecycle (warm-up then linear decay to 0) " + _default("schedule"))
    train.add_argument("--warmup", type=float, default=None,
                       help="onecycle: share of the steps rising to the peak " + _default("warmup"))
    train.add_argument("--label-smoothing", type=float, default=None, help=_default("label_smoothing"))
    train.add_argument("--no-calibrate", action="store_true",
                       help="do not fit a temperature on the validation split (P(AI) stays the raw softmax)")
    train.add_argument("--filter", default=None, help="an image filter applied before training")
    train.add_argument("--device", default=None,
                       help="auto (CUDA, then MPS, then CPU), cpu, cuda or mps (default auto)")
    train.add_argument("--max-train", type=int, default=None, help="use a random subset of N train images")
    train.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    cpu = train.add_mutually_exclusive_group()
    cpu.add_argument("--cpu-bf16", dest="cpu_bf16", action="store_true", default=None,
                     help="bfloat16 autocast when training on a CPU " + _default("cpu_bf16"))
    cpu.add_argument("--no-cpu-bf16", dest="cpu_bf16", action="store_false", help="float32 on a CPU")
    train.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="a model option, e.g. --set n_conv=3 --set dropout=0.2 (cnn) or --set img_size=128")
    weights = train.add_mutually_exclusive_group()
    weights.add_argument("--pretrained", dest="pretrained", action="store_true", default=None,
                         help="backbones: start from ImageNet weights (the default for backbones)")
    weights.add_argument("--no-pretrained", dest="pretrained", action="store_false",
                         help="backbones: start from random weights (no download)")
    weights.add_argument("--weights", default=None, metavar="FILE",
                         help="backbones: ImageNet weights from a local .pth or .safetensors file")
    train.add_argument("--also-test-original", action="store_true",
                       help="with --filter: also test on the original (unfiltered) test images, the paper's "
                            "Table 4 (stored as metrics.test_original; needs a test split)")
    train.add_argument("--run-id", type=int, default=None,
                       help="record into this existing run (background jobs create it when they start)")
    train.add_argument("--json", action="store_true", help="print one JSON object, no progress bar")
    train.set_defaults(handler=train_command)

    evaluate = subparsers.add_parser("evaluate", help="score a checkpoint on a split of a dataset")
    evaluate.add_argument("--checkpoint", required=True, type=Path)
    _data_argument(evaluate)
    _resolution_argument(evaluate, "default and only choice: the side the checkpoint was trained at")
    evaluate.add_argument("--split", default="test", choices=["test", "train"])
    evaluate.add_argument("--device", default="auto")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.set_defaults(handler=evaluate_command)

    predict = subparsers.add_parser("predict", help="P(AI-generated) for image files")
    predict.add_argument("--checkpoint", required=True, type=Path)
    predict.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="PNG, JPEG or WebP files")
    predict.add_argument("--json", action="store_true", help="print one JSON object")
    predict.set_defaults(handler=predict_command)


def _data_argument(parser) -> None:
    parser.add_argument("--data", default=None, metavar="SRC",
                        help="a CIFAKE folder/zip/tar.gz (or a folder of them), set:NAME for an imported image set "
                             "(`python -m study data import`), or `demo` for the synthetic pool; default: the "
                             "study's configured dataset")


def _resolution_argument(parser, default: str) -> None:
    parser.add_argument("--resolution", type=int, default=None, metavar="PX",
                        help="image sets (--data set:NAME): the side each picture's centre square is brought to "
                             f"for the model ({default}); CIFAKE is always 32")


def check_splits(kind: str, dataset) -> None:
    """StudyError unless the loaded dataset has the splits a job of this kind
    needs (study.jobs.data_problem, the rule the app's forms and queue use)."""
    import numpy as np

    from study.jobs import check_data

    check_data(kind, dataset.source, have=np.unique(dataset.splits).tolist())


def _parse_sets(pairs: list[str]) -> dict:
    import json

    cfg = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise StudyError(f"--set expects KEY=VALUE, got {pair!r}")
        try:
            cfg[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            cfg[key.strip()] = value
    return cfg


class _ProgressBar:
    """tqdm on stderr: one bar per epoch, validation figures in its postfix."""

    def __init__(self, epochs: int):
        self.epochs, self.bar = epochs, None

    def on_start(self, info: dict) -> None:
        print(f"training on {info['device']}: {info['n_train']:,} train / {info['n_val']:,} validation images, "
              f"{info['num_params']:,} parameters", file=sys.stderr)

    def on_batch(self, epoch: int, batch: int, n_batches: int) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=n_batches, desc=f"epoch {epoch}/{self.epochs}", unit="batch", file=sys.stderr)
        self.bar.update(1)

    def on_epoch(self, record: dict) -> None:
        if self.bar is not None:
            shown = {"loss": f"{record['train_loss']:.4f}", "acc": f"{record['train_acc']:.4f}"}
            if record["val_acc"] is not None:
                shown.update(val_loss=f"{record['val_loss']:.4f}", val_acc=f"{record['val_acc']:.4f}")
            self.bar.set_postfix(shown)
            self.bar.close()
            self.bar = None

    def should_stop(self) -> bool:
        return False

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def train_command(args) -> int:
    from study.data.active import load_source
    from study.ml.training import build_model, run_training

    model_cfg = _parse_sets(args.set)
    if args.weights:
        model_cfg["weights"] = args.weights
    elif args.pretrained is not None:
        model_cfg["pretrained"] = args.pretrained
    spec_probe = _spec_or_error(args.model, model_cfg)
    if spec_probe.pretrained_available and "pretrained" not in model_cfg and "weights" not in model_cfg:
        model_cfg["pretrained"] = True  # the paper fine-tunes ImageNet weights
    config = config_from_args(args, model_cfg)
    config.validate()
    if config.device != "auto":
        from study.ml.devices import pick_device

        pick_device(config.device)  # `--device cuda` without a GPU: one clear line before any data is decoded
    if model_cfg.get("pretrained") or model_cfg.get("weights"):
        build_model(config.model, model_cfg)  # fail on missing weights before decoding any data
    dataset = load_source(args.data, training_side(args, spec_probe))
    # before a run record or a model exists; a test on the originals is a filter experiment's
    check_splits("filter" if args.also_test_original else "train", dataset)
    bar = None if args.json else _ProgressBar(config.epochs)
    try:
        result = run_training(config, dataset, callbacks=[bar] if bar else [], run_id=args.run_id,
                              test_original=args.also_test_original)
    finally:
        if bar:
            bar.close()
    metrics = result["metrics"]
    result["dataset"] = {"source": dataset.source, "fingerprint": dataset.fingerprint, "is_demo": dataset.is_demo}
    result["recipe"] = config.to_dict()
    lines = [f"run {result['run_id']}: {result['status']} on {result['device']} ({config.recipe} recipe: "
             f"{config.optimizer}, {config.schedule} lr {config.lr:g}, batch {config.batch_size}, "
             f"augment {config.augment}, label smoothing {config.label_smoothing:g})"]
    lines.append(f"checkpoint: {result['checkpoint']}")
    if metrics.get("val_acc") is not None:
        lines.append(f"best epoch {metrics['best_epoch']} of {metrics['epochs_run']}: train acc "
                     f"{metrics['train_acc']:.4f}, validation acc {metrics['val_acc']:.4f}")
    fitted = metrics.get("val_calibration")
    if fitted:
        lines.append(f"temperature {fitted['temperature']:.3f} fitted on {fitted['n']:,} validation images: "
                     f"log loss {fitted['before']['log_loss']:.4f} -> {fitted['after']['log_loss']:.4f}, "
                     f"ECE {fitted['before']['ece']:.4f} -> {fitted['after']['ece']:.4f}")
    if "test" in metrics:
        lines += _metric_lines(metrics["test"], "test")
    original = metrics.get("test_original") or {}
    if "accuracy" in original:
        lines += _metric_lines(original, "test on the original images")
    elif original:
        lines.append(f"test on the original images: {original.get('skipped') or original.get('error')}")
    if result["seconds_per_epoch"] is not None:
        lines.append(f"seconds per epoch: {result['seconds_per_epoch']:.1f}")
    emit(result, args.json, lines)
    return 0


def training_side(args, spec) -> int | None:
    """The side of the training pictures: for an image set, --resolution or the
    model's input size; for CIFAKE-like data None (their own 32)."""
    from study.data.image_sets import is_image_set

    if not is_image_set(args.data):
        return args.resolution  # load_source refuses anything but 32 for CIFAKE
    return args.resolution or int(spec.input_size[0])


def config_from_args(args, model_cfg: dict) -> TrainConfig:
    """The model's recipe with the flags that were given on top."""
    return TrainConfig.for_model(
        args.model, model_cfg=model_cfg, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        weight_decay=args.weight_decay, val_split=args.val_split, patience=args.patience, seed=args.seed,
        augment=args.augment, filter=args.filter, device=args.device, max_train=args.max_train,
        amp=False if args.no_amp else None, cpu_bf16=args.cpu_bf16, num_threads=args.threads, optimizer=args.optimizer,
        momentum=args.momentum, schedule=args.schedule, warmup=args.warmup,
        label_smoothing=args.label_smoothing, calibrate=False if args.no_calibrate else None,
    )


def _spec_or_error(name: str, cfg: dict):
    from models.registry import ModelError
    from models.zoo import get_spec

    try:
        return get_spec(name, **cfg)
    except ModelError as err:
        raise StudyError(str(err)) from err


def _metric_lines(m: dict, label: str) -> list[str]:
    lines = [f"{label} accuracy: {m['accuracy']:.4f} on {m['n']:,} images"]
    if m.get("accuracy_leak_free") is not None:
        lines.append(f"{label} accuracy without the {m['n_leaked']:,} images also in train: "
                     f"{m['accuracy_leak_free']:.4f} on {m['n_leak_free']:,}")
    if m.get("auroc") is not None:
        lines.append(f"{label} AUROC {m['auroc']:.4f}, log loss {m['log_loss']:.4f}, ECE {m['ece']:.4f} "
                     f"(temperature {m['temperature']:.3f})")
    cal = m.get("calibration")
    if cal and cal["temperature"] != 1.0:
        lines.append(f"  before scaling: log loss {cal['before']['log_loss']:.4f}, ECE {cal['before']['ece']:.4f}")
    for name, c in m["per_class"].items():
        lines.append(f"  {name}: precision {c['precision']:.4f}  recall {c['recall']:.4f}  "
                     f"f1 {c['f1']:.4f}  support {c['support']:,}")
    (tn, fp), (fn, tp) = m["confusion_matrix"]
    lines.append(f"  confusion (rows truth {'/'.join(CLASS_NAMES)}, columns predicted): [[{tn}, {fp}], [{fn}, {tp}]]")
    return lines


def evaluate_command(args) -> int:
    from study.data.active import load_source
    from study.data.image_sets import is_image_set
    from study.ml.devices import pick_device
    from study.ml.evaluation import evaluate_model, image_filter_of, input_side, open_checkpoint

    device = pick_device(args.device)
    model, spec, meta = open_checkpoint(args.checkpoint, device=device)
    side = input_side(meta)
    if args.resolution is not None and args.resolution != side:
        raise StudyError(f"--resolution {args.resolution}: this checkpoint was trained on {side}x{side} pictures, "
                         "so it is evaluated at that side")
    dataset = load_source(args.data, side if is_image_set(args.data) else None)
    warnings = []
    if meta.get("dataset_fingerprint") and meta["dataset_fingerprint"] != dataset.fingerprint:
        warnings.append(f"this checkpoint was trained on another dataset (fingerprint "
                        f"{meta['dataset_fingerprint'][:12]}, this one {dataset.fingerprint[:12]})")
    if args.split == "train":
        warnings.append("evaluating on the train split: the model saw these images, so this is NOT a test accuracy")
    metrics = evaluate_model(model, dataset, args.split, spec=spec, image_filter=image_filter_of(meta),
                             device=device)
    for w in warnings:
        if not args.json:
            print(f"warning: {w}", file=sys.stderr)
    label = "train-split (seen in training)" if args.split == "train" else args.split
    result = {"checkpoint": str(args.checkpoint), "model": meta["model"], "metrics": metrics,
              "warnings": warnings, "dataset": {"source": dataset.source, "fingerprint": dataset.fingerprint}}
    emit(result, args.json, [f"model {meta['model']} ({args.checkpoint})", *_metric_lines(metrics, label)])
    return 0


def read_image_files(paths: list[Path], side: int = 32):
    """Image files -> (N, side, side, 3) uint8, each read by the one decoder the app's
    uploads and `explain` use (size caps, 16-bit, CMYK, alpha, animation) and brought
    to the model's side by the one rule (study.data.model_view: the centre square)."""
    import numpy as np

    from study.data.model_view import model_view
    from study.data.uploads import read_image_file

    return np.stack([model_view(read_image_file(path).original, side).pixels for path in paths])


def predict_command(args) -> int:
    from study.ml.evaluation import input_side, open_checkpoint, predict_pictures

    model, spec, meta = open_checkpoint(args.checkpoint)
    side = input_side(meta)
    p_ai = predict_pictures(model, spec, meta, read_image_files(args.images, side))
    rows = [{"image": str(path), "p_ai": float(p), "predicted": class_name(predicted_label(p))}
            for path, p in zip(args.images, p_ai)]
    emit({"checkpoint": str(args.checkpoint), "model": meta["model"], "temperature": meta.get("temperature", 1.0),
          "input_side": side, "predictions": rows}, args.json,
         [f"{r['p_ai']:.4f}  {r['predicted']:4s}  {r['image']}" for r in rows])
    return 0
