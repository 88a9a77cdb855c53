"""`python -m study explain --checkpoint C IMAGE --out cam.png`: P(AI-generated)
for one picture of any size and its Grad-CAM overlay as a PNG, drawn over the
whole picture at display size (a small one enlarged with nearest-neighbour, the
part the model did not see dimmed)."""
from __future__ import annotations

from pathlib import Path

from study.commands import emit
from study.errors import StudyError
from study.labels import FAKE, REAL, class_name

METHOD_CHOICES = ["gradcam", "gradcam++", "hirescam", "xgradcam", "layercam", "eigencam", "eigengradcam"]


def register(subparsers) -> None:
    parser = subparsers.add_parser("explain", help="P(AI) and a Grad-CAM overlay PNG for one image")
    parser.add_argument("--checkpoint", required=True, type=Path, help="a checkpoint written by `train`")
    parser.add_argument("image", type=Path, metavar="IMAGE", help="a PNG, JPEG, WebP or GIF file (any size)")
    parser.add_argument("--out", required=True, type=Path, help="where to write the overlay PNG")
    parser.add_argument("--method", default="gradcam", choices=METHOD_CHOICES,
                        help="CAM method from the grad-cam package (default gradcam)")
    parser.add_argument("--target-class", type=int, choices=[REAL, FAKE], default=None,
                        help=f"explain this class ({REAL} {class_name(REAL)}, {FAKE} {class_name(FAKE)}) "
                             "instead of the predicted one")
    parser.add_argument("--opacity", type=float, default=0.5, help="heat map share in the overlay, 0..1")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=explain_command)


def explain_command(args) -> int:
    if not 0.0 <= args.opacity <= 1.0:
        raise StudyError(f"--opacity must be between 0 and 1, got {args.opacity}")
    out = args.out.expanduser()
    if not out.parent.is_dir():
        raise StudyError(f"cannot write {out}: folder {out.parent} does not exist")
    if out.suffix.lower() != ".png":
        raise StudyError(f"--out must name a .png file, got {out.name}")

    from study.ml import live
    from study.data.uploads import read_image_file

    image = read_image_file(args.image)  # before loading the model: a bad image fails fast
    loaded = live.load_model(args.checkpoint)
    result = live.predict_and_explain(loaded, image.original, method=args.method, target_class=args.target_class)
    _write_atomically(out, live.overlay_png(image.original, result, opacity=args.opacity))

    record = {"checkpoint": str(args.checkpoint), "model": loaded.spec.name, "image": str(args.image),
              "out": str(out), "read_as": image.read_as, **result.as_dict()}
    target = record["target_class"] or "no class (class-free method)"
    lines = [
        f"P(AI-generated) = {result.p_ai:.4f}  predicted {result.predicted_name}",
        f"{args.method} for {target} at {result.layer} ({result.native_shape[0]}x{result.native_shape[1]} native)",
        f"image: {image.read_as}",
        live.model_input_text(result.view),
        f"overlay written to {out} (over the whole picture)",
    ]
    if result.note:
        lines.insert(2, f"note: {result.note}")
    if result.map_is_empty:
        lines.insert(2, "note: the map is empty: nothing in the image raises this class's score at that layer")
    emit(record, args.json, lines)
    return 0


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
