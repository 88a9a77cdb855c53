"""`python -m study reproduce --table 1|3|4|sweeps|augment|robustness [--quick]
[--out DIR]`: the paper's experiments headless, written up next to the paper's
numbers; and the robustness report of chosen checkpoints."""
from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

from study.commands import emit
from study.experiments.plan import TABLES, Plan


def register(subparsers) -> None:
    rep = subparsers.add_parser("reproduce", help="rerun a table of the paper and write a report (markdown + charts)")
    rep.add_argument("--table", required=True, choices=list(TABLES),
                     help="1: pretrained models; 3 and 4: the filter experiments (one run gives both); "
                          "sweeps: the configurable CNN's layers, L2 and dropout; augment: without and with augmentation; "
                          "robustness: checkpoints under JPEG, blur, noise and rescaling")
    rep.add_argument("--quick", action="store_true", help="a CPU smoke run: 800 train images, two epochs, small grids "
                     "(robustness: 800 train, 600 test images, two epochs, each model's own recipe)")
    rep.add_argument("--out", type=Path, default=None, help="report folder (default STUDY_HOME/reports/...)")
    rep.add_argument("--data", default=None, metavar="SRC",
                     help="a CIFAKE folder/archive or `demo`; default: the study's configured dataset")
    rep.add_argument("--model", default=None,
                     help=f"tables 3/4 and augment: the model trained (default {Plan.model}, the recipe's)")
    rep.add_argument("--checkpoint", action="append", default=None, metavar="C", dest="checkpoints",
                     help="robustness: a checkpoint to score (repeat for several); none: train --models first")
    rep.add_argument("--models", default=None, metavar="M,M",
                     help="robustness without checkpoints: the models trained, each with its recipe "
                          f"(default {','.join(Plan.make('robustness').models)})")
    rep.add_argument("--max-test", type=int, default=None, help="robustness: score on a class-balanced subset")
    rep.add_argument("--epochs", type=int, default=None)
    rep.add_argument("--max-train", type=int, default=None)
    rep.add_argument("--seed", type=int, default=None)
    rep.add_argument("--device", default=None)
    rep.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    rep.add_argument("--job-id", type=int, default=None,
                     help="run as this background job: stop when the job is cancelled (the app sets this)")
    rep.add_argument("--json", action="store_true", help="print one JSON object")
    rep.set_defaults(handler=reproduce_command)


def reproduce_command(args) -> int:
    from study.commands.train import check_splits
    from study.data.active import load_source
    from study.config import ensure_home
    from study.experiments.runner import reproduce

    out = args.out or ensure_home().reports_dir / f"table{args.table}-{datetime.now():%Y%m%d-%H%M%S}"
    from study.errors import StudyError

    if args.checkpoints and args.table != "robustness":
        raise StudyError("--checkpoint is for --table robustness")
    for path in args.checkpoints or []:
        if not Path(path).is_file():
            raise StudyError(f"checkpoint {path} does not exist")
    dataset = load_source(args.data)
    if args.checkpoints:  # scoring only: the test split is all it reads
        import numpy as np

        if not np.any(dataset.splits == "test"):
            raise StudyError(f"{dataset.source} has no test split to score the checkpoints on")
    else:
        check_splits("experiment", dataset)  # every table trains on train and tests on test: say so before it starts
    models = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else None
    log = (lambda msg: None) if args.json else (lambda msg: print(msg, file=sys.stderr))
    done = reproduce(args.table, dataset, out=out, quick=args.quick, log=log, should_stop=_job_cancelled(args.job_id),
                     model=args.model, epochs=args.epochs, max_train=args.max_train, seed=args.seed,
                     device=args.device, threads=args.threads, checkpoints=args.checkpoints, models=models,
                     max_test=args.max_test)
    ev = done["results"]["evidence"]
    emit({"report": done["report"], "files": done["files"], "wall_seconds": ev["wall_seconds"],
          "results": {k: v for k, v in done["results"].items() if k != "evidence"}}, args.json,
         [f"report: {done['report']}", f"wall time: {ev['wall_seconds']} s"])
    return 0


def _job_cancelled(job_id: int | None):
    """The stop hook of a reproduction that runs as a background job."""
    if job_id is None:
        return None
    from db.jobs import get_job
    from study.database import study_engine
    from study.experiments.progress import throttled

    engine = study_engine()
    return throttled(lambda: bool((get_job(engine, job_id) or {}).get("cancel_requested_at")))
