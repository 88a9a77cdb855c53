"""`python -m study survey create|status|open|close|export|withdraw|simulate`: the researcher's survey sets."""
from __future__ import annotations

import argparse
from pathlib import Path

from study.commands import emit
from study.database import study_engine
from study.errors import StudyError


def register(subparsers) -> None:
    survey = subparsers.add_parser("survey", help="create, open, close and export participant survey sets")
    sub = survey.add_subparsers(dest="survey_command", metavar="ACTION", parser_class=type(survey))
    sub.required = True

    create = sub.add_parser("create", help="draw a balanced, duplicate-free set from the active dataset")
    create.add_argument("--size", type=int, default=15, help="images per participant (default 15)")
    create.add_argument("--seed", type=int, required=True, help="random seed of the draw (and of each order)")
    create.add_argument("--pool", type=int, help="draw each participant's images from a pool of this many")
    create.add_argument("--split", help="dataset split to draw from (default test; an image set has none)")
    create.add_argument("--images", metavar="set:NAME",
                        help="draw from an imported image set (`data import`) instead of the active dataset")
    create.add_argument("--max-enlarge", type=int, metavar="N",
                        help="image sets: enlarge a small picture at most N times on screen (default 1: never)")
    create.add_argument("--balance-by", choices=("generator", "category"),
                        help="image sets: spread each label's images evenly over generators or categories")
    create.add_argument("--name", help="a name for the set (default describes it)")
    create.add_argument("--open", action=argparse.BooleanOptionalAction, default=True,
                        help="open it for participants now (default) or keep it as a draft")
    create.add_argument("--close-current", action="store_true",
                        help="close the open set even though people have answered it")
    create.add_argument("--exclude-sets", type=_set_ids, metavar="IDS",
                        help="comma-separated ids of sets whose participants may not take this one, or 'none' "
                             "(default: every earlier set drawn from the same dataset)")
    create.add_argument("--conditions", default="control", metavar="NAMES",
                        help="comma-separated conditions, each a group of participants: control (the image "
                             "only), model (the model's verdict and P(AI-generated)), model_cam (the same and its "
                             "Grad-CAM map); participants are balanced across them (default control)")
    create.add_argument("--hint-run", type=int, metavar="RUN_ID",
                        help="the finished training run whose verdicts model and model_cam show")
    create.add_argument("--hint-timing", choices=("before", "after_first"), default="before",
                        help="hint with the image (before), or after a first answer, then a final one "
                             "(after_first; both answers are kept)")
    create.add_argument("--feedback", choices=("none", "each", "end"), default="end",
                        help="right/wrong for every image at the end (end, default), after each answer "
                             "(each), or not at all (none)")
    create.add_argument("--display-ms", type=int, metavar="MS",
                        help="hide each image this long after it first appears (the person still answers); "
                             "default: the image stays")
    create.add_argument("--attention-checks", type=int, default=0, metavar="K",
                        help="catch trials per participant (a picture saying which button to press), at seeded "
                             "positions, never scored (default 0)")
    create.add_argument("--exclude-failed-checks", action="store_true",
                        help="pre-registered: the results leave out anyone who failed an attention check")
    create.add_argument("--exclude-speeders", type=int, metavar="MS",
                        help="pre-registered: the results leave out anyone whose median response time is below MS")
    create.add_argument("--exclude-incomplete", action="store_true",
                        help="pre-registered: the results leave out anyone who did not answer every image")
    create.add_argument("--json", action="store_true", help="print one JSON object")
    create.set_defaults(handler=create_command)

    status = sub.add_parser("status", help="the open set: participants consented/started/completed, answers")
    status.add_argument("--all", action="store_true", help="list every set, not only the open one")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(handler=status_command)

    open_ = sub.add_parser("open", help="open a draft or closed set (closes the open one)")
    open_.add_argument("set_id", type=int)
    open_.add_argument("--close-current", action="store_true",
                       help="close the open set even though people have answered it")
    open_.add_argument("--json", action="store_true", help="print one JSON object")
    open_.set_defaults(handler=open_command)

    close = sub.add_parser("close", help="close the open set (answers are kept)")
    close.add_argument("--set", dest="set_id", type=int, help="close this set instead of the open one")
    close.add_argument("--json", action="store_true", help="print one JSON object")
    close.set_defaults(handler=close_command)

    export = sub.add_parser("export", help="write a set's answers as CSV, with NAME.dictionary.csv (column, type, meaning) and "
                                           "NAME.txt (the set described) beside it")
    export.add_argument("--set", dest="set_id", type=int, help="the set (default: the open one)")
    export.add_argument("--out", type=Path, required=True, help="CSV file to write")
    export.add_argument("--json", action="store_true", help="print one JSON object")
    export.set_defaults(handler=export_command)

    withdraw = sub.add_parser("withdraw", help="delete a participant's answers at their request, by completion code")
    withdraw.add_argument("code", help="the completion code the participant gave (e.g. ABCDE-FGHJK)")
    withdraw.add_argument("--json", action="store_true", help="print one JSON object")
    withdraw.set_defaults(handler=withdraw_command)

    simulate = sub.add_parser("simulate", help="add simulated participants to the open set (to try the Results page)")
    simulate.add_argument("--participants", type=int, default=63, help="how many (default 63, as in the paper)")
    simulate.add_argument("--seed", type=int, default=0, help="random seed of their answers (default 0)")
    simulate.add_argument("--dropout", type=float, default=0.0, help="share who stop part-way (default 0)")
    simulate.add_argument("--remove", action="store_true", help="delete every simulated participant instead")
    simulate.add_argument("--json", action="store_true", help="print one JSON object")
    simulate.set_defaults(handler=simulate_command)


def _set_ids(text: str) -> list[int]:
    if text.strip().lower() == "none":
        return []
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated set ids or 'none', got {text!r}") from None


def _line(info) -> str:
    from study.survey.checks import ExclusionRules

    design = f"pool of {info.pool_size}" if info.design == "pool" else "same images for everyone"
    demo = "  [demo — synthetic images, not CIFAKE]" if info.is_demo else ""
    excluded = ", ".join(map(str, info.exclude_sets)) or "none"
    conditions = "; ".join(f"{c['name']}: {c['shows']} ({c['counted']} counted)" for c in info.conditions)
    hint = f" (hints from run {info.hint_run_id})" if info.hint_run_id is not None else ""
    return (
        f"set {info.id} ({info.status}): {info.name}; {info.size} images, {design}, split {info.split}, "
        f"seed {info.seed}; participants {info.consented} consented, {info.started} started "
        f"(saw the first image), {info.completed} completed; {info.answers} answers; "
        f"excludes people of sets: {excluded}{demo}\n  conditions{hint}: {conditions}\n"
        f"  {info.attention_checks} attention checks each; the results {ExclusionRules.from_dict(info.exclusion_rules).describe()}"
        + (f"; {info.withdrawn} withdrew" if info.withdrawn else "")
    )


def create_command(args) -> int:
    from study.data.active import active_dataset
    from study.survey.checks import ExclusionRules
    from study.survey.conditions import parse_conditions
    from study.survey.sets import create_set

    conditions = parse_conditions(args.conditions, hint_timing=args.hint_timing, feedback=args.feedback,
                                  display_ms=args.display_ms)
    rules = ExclusionRules(failed_checks=args.exclude_failed_checks, speeder_ms=args.exclude_speeders,
                           incomplete=args.exclude_incomplete)
    engine = study_engine()
    if args.images:
        from study.data.image_sets import pool

        dataset = pool(engine, args.images)
    else:
        dataset = active_dataset(engine)
    info = create_set(
        engine, dataset, size=args.size, seed=args.seed, split=args.split, pool=args.pool,
        open_now=args.open, close_current=args.close_current, name=args.name, exclude_sets=args.exclude_sets,
        conditions=conditions, hint_run_id=args.hint_run, attention_checks=args.attention_checks,
        exclusion_rules=rules, max_enlarge=args.max_enlarge, balance_by=args.balance_by,
    )
    emit(info.as_dict(), args.json, [f"created {_line(info)}"])
    return 0


def withdraw_command(args) -> int:
    from study.survey.flow import withdraw_by_code

    deleted = withdraw_by_code(study_engine(), args.code)
    emit({"code": args.code.strip().upper(), "answers_deleted": deleted}, args.json,
         [f"withdrew {args.code.strip().upper()}: {deleted} answers deleted; the participant is kept only as "
          "'withdrew' in the counts"])
    return 0


def status_command(args) -> int:
    from study.survey.sets import all_summaries, open_summary

    engine = study_engine()
    if args.all:
        infos = all_summaries(engine)
        emit({"sets": [i.as_dict() for i in infos]}, args.json, [_line(i) for i in infos] or ["no survey sets yet"])
        return 0
    info = open_summary(engine)
    lines = [_line(info)] if info else [
        "no survey set is open (the app opens a demo set on first visit until CIFAKE is prepared; "
        "create one with `python -m study survey create --seed S`)"
    ]
    emit({"open": info.as_dict() if info else None}, args.json, lines)
    return 0


def open_command(args) -> int:
    from study.survey.sets import open_set

    info = open_set(study_engine(), args.set_id, close_current=args.close_current)
    emit(info.as_dict(), args.json, [f"opened {_line(info)}"])
    return 0


def close_command(args) -> int:
    from study.survey.sets import close_set

    info = close_set(study_engine(), args.set_id)
    emit(info.as_dict(), args.json, [f"closed {_line(info)}"])
    return 0


def export_command(args) -> int:
    from study.survey.export import write_answers
    from study.survey.sets import open_summary

    engine = study_engine()
    set_id = args.set_id
    if set_id is None:
        info = open_summary(engine)
        if info is None:
            raise StudyError("no survey set is open; pass --set ID (see `python -m study survey status --all`)")
        set_id = info.id
    files, rows = write_answers(engine, set_id, args.out)  # the same files as `python -m study export answers`
    emit({"set_id": set_id, **files.as_dict(), "answers": rows}, args.json,
         [f"wrote {rows} answers of set {set_id} to {files.csv} (column meanings in {files.dictionary}, "
          f"the set described in {files.description})"])
    return 0


def simulate_command(args) -> int:
    from study.survey.simulate import remove_simulated, simulate

    engine = study_engine()
    if args.remove:
        done = remove_simulated(engine)
        emit(done, args.json, [f"removed {done['participants_removed']} simulated participants "
                               f"and their {done['answers_removed']} answers"])
        return 0
    done = simulate(engine, args.participants, args.seed, dropout=args.dropout)
    emit(done, args.json, [
        f"added {done['participants']} SIMULATED participants ({done['completed']} completed, {done['answers']} "
        f"answers) to set {done['set_id']}; the Results page leaves them out unless asked; "
        "remove them with `python -m study survey simulate --remove`"
    ])
    return 0
