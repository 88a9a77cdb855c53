"""`python -m study results`: the figures of the Results page for one survey set;
`python -m study export answers|participants|database --out PATH`."""
from __future__ import annotations

from pathlib import Path

from study.commands import emit
from study.database import study_engine
from study.errors import StudyError
from study.labels import class_name
from study.paper import percent_text

DEVICE_CHOICES = ("desktop", "mobile", "tablet", "unknown")  # study.analysis.DEVICE_OPTIONS, without importing it


def register(subparsers) -> None:
    results = subparsers.add_parser("results", help="what the survey found: scores, d', per-image shares, models")
    results.add_argument("--set", dest="set_id", type=int, help="the survey set (default: the open one, "
                         "else the newest with answers)")
    results.add_argument("--exclude-speeders", type=int, metavar="MS",
                         help="leave out participants whose median response time is below MS milliseconds, on top "
                              "of the set's pre-registered rules (never instead of them)")
    results.add_argument("--completed-only", action="store_true",
                         help="answer-level figures use only participants who answered every image (on top of "
                              "the set's pre-registered rules)")
    results.add_argument("--without-preregistered-exclusions", action="store_true",
                         help="sensitivity check: do not apply the set's pre-registered exclusion rules (the "
                              "output says so; the people each rule names are still counted)")
    results.add_argument("--device", dest="devices", action="append", choices=DEVICE_CHOICES,
                         help="keep only participants on this device class (repeatable; 'unknown' = none recorded)")
    results.add_argument("--include-simulated", action="store_true",
                         help="count simulated participants (left out by default)")
    results.add_argument("--age-band", action="append", metavar="BAND",
                         help="keep only this age band (repeatable; 'skipped' = did not answer)")
    results.add_argument("--ai-exposure", action="append", metavar="LEVEL",
                         help="keep only this AI-exposure answer (repeatable; 'skipped' = did not answer)")
    results.add_argument("--run", dest="runs", type=int, action="append", metavar="RUN_ID",
                         help="compare with this finished training run's model (repeatable)")
    results.add_argument("--json", action="store_true", help="print one JSON object")
    results.set_defaults(handler=results_command)

    export = subparsers.add_parser("export", help="write answers or participants as CSV, or copy the database")
    export.add_argument("what", choices=["answers", "participants", "database"])
    export.add_argument("--out", type=Path, required=True, help="file to write")
    export.add_argument("--set", dest="set_id", type=int, help="the survey set (default as for `results`)")
    export.add_argument("--json", action="store_true", help="print one JSON object")
    export.set_defaults(handler=export_command)


def _fmt(value, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def results_command(args) -> int:
    from study import analysis
    from study.analysis import humans_vs_models as analysis_models

    if args.exclude_speeders is not None and args.exclude_speeders < 0:
        raise StudyError(f"--exclude-speeders must be 0 or more milliseconds, got {args.exclude_speeders}")
    engine = study_engine()
    set_id = analysis.resolve_set_id(engine, args.set_id)
    inclusion = analysis.Inclusion(
        include_simulated=args.include_simulated, completed_only=args.completed_only,
        speeder_ms=args.exclude_speeders or None,
        age_bands=tuple(args.age_band) if args.age_band else None,
        ai_exposure=tuple(args.ai_exposure) if args.ai_exposure else None,
        preregistered=not args.without_preregistered_exclusions,
        device_classes=tuple(dict.fromkeys(args.devices)) if args.devices else None,
    )
    predictions = {}
    if args.runs:
        pixels = analysis.set_image_pixels(engine, set_id)
        for run_id in args.runs:
            choice = analysis_models.model_choice(engine, run_id)
            predictions[choice.key] = analysis_models.predict_set(choice.checkpoint_path, pixels)
    result = analysis.analyse(engine, set_id, inclusion, predictions)
    data = result.summary_dict()
    emit(data, args.json, _lines(result, data))
    return 0


def _lines(result, data: dict) -> list[str]:
    from study.analysis import exclusion_text

    s, c, a, sdt = data["scores"], data["participants"], data["accuracy"], data["sdt"]
    lines = [
        f"survey set {data['set']['id']}: {data['set']['name']} ({data['set']['size']} images"
        + (", demo images" if data["set"]["is_demo"] else "") + ")",
        f"participants: {c['completed']} completed, {c['incomplete']} incomplete (saw at least the first image), "
        f"{c['consented_only']} consented without seeing an image, {c['excluded']} excluded "
        f"(simulated {c['excluded_by']['simulated']}, pre-registered rules {c['excluded_by']['preregistered']}, "
        f"speeders {c['excluded_by']['speeder']}, demographic filter {c['excluded_by']['demographic']}, "
        f"device filter {c['excluded_by']['device']}, researchers' previews {c['excluded_by']['preview']}); "
        f"{c['answers_analysed']} answers analysed",
        exclusion_text(data["exclusions"], c["withdrawn"]),
        device_line(data["by_device"]),
    ]
    if result.is_empty:
        lines.append("no answers to analyse yet" + (" (simulated participants are left out; add "
                     "--include-simulated)" if c["excluded_by"]["simulated"] else ""))
        return lines
    paper = f"{s['paper_mean']:.2f}" + (" (8.46/15 scaled)" if s["paper_scaled"] else "")
    lines += [
        f"score out of {s['set_size']}: mean {_fmt(s['mean'])}, median {_fmt(s['median'], 1)}, SD {_fmt(s['sd'])}, "
        f"95% CI [{_fmt(s['ci_low'])}, {_fmt(s['ci_high'])}] (n = {s['n']}; chance {s['chance']:g}, paper {paper})",
        f"t-test against chance: t({s['df'] if s['df'] is not None else 'n/a'}) = {_fmt(s['t'], 3)}, "
        f"p = {_fmt(s['p'], 4)}",
        f"binomial per participant: {s['n_above_chance']} of {s['n']} beat chance "
        f"(needs {s['min_correct_above_chance']} of {s['set_size']} right, one-sided p < .05)",
        f"accuracy: overall {percent_text(a['overall'])}, on REAL images {percent_text(a['real'])}, "
        f"on FAKE images {percent_text(a['fake'])}",
        f"d' pooled {_fmt(sdt['pooled']['dprime'], 3)}, c pooled {_fmt(sdt['pooled']['criterion'], 3)}; "
        f"mean of participants d' {_fmt(sdt['mean_dprime'], 3)}, c {_fmt(sdt['mean_criterion'], 3)} "
        "(log-linear correction, Hautus 1995)",
        f"response time: median {_fmt(data['response_times']['median_ms'], 0)} ms "
        f"(right {_fmt(data['response_times']['median_ms_right'], 0)}, "
        f"wrong {_fmt(data['response_times']['median_ms_wrong'], 0)})",
    ]
    for model in data["models"]:
        lines.append(f"{model['key']}: accuracy {percent_text(model['accuracy'])} on the {model['n_images']} "
                     "survey images, "
                     f"kappa with the human majority {_fmt(model['kappa_vs_majority'], 3)} "
                     f"({model['n_compared']} images with a majority)")
    if "by_condition" in data:
        lines += _condition_lines(data["by_condition"])
    for kind in ("generator", "category"):
        for name, f in (data.get(f"by_{kind}") or {}).items():
            lines.append(f"{kind} {name}: accuracy {percent_text(f['accuracy'])}, d' {_fmt(f['dprime'], 3)}, "
                         f"c {_fmt(f['criterion'], 3)} ({f['n_answers']} answers from {f['n_people']} people on "
                         f"{f['n_images']} images" + (f"; d' pairs with {f['paired_with']}" if f["paired_with"] else "")
                         + ")")
    lines.append("per image (share right, n):")
    for image in data["images"]:
        lines.append(f"  {image['image_id']}  {class_name(image['label'])}  "
                     f"{percent_text(image['share_right'])} of {image['n']}")
    return lines


def device_line(by_device: dict) -> str:
    """n per device class among those who count under every other rule."""
    parts = []
    for name, d in by_device.items():
        if not d["n"] and name == "unknown":
            continue
        accuracy = "" if d["accuracy"] is None else f", accuracy {percent_text(d['accuracy'])}"
        parts.append(f"{name} {d['n']} ({d['n_completed']} completed{accuracy})"
                     + ("" if d["included"] else " [filtered out]"))
    return "by device (participants who count under every other rule): " + "; ".join(parts)


def _share(figure: dict) -> str:
    return (f"{percent_text(figure['share']) if figure['share'] is not None else 'not enough data'} "
            f"(n = {figure['n_answers']} answers, {figure['n_participants']} participants)")


def _condition_lines(data: dict) -> list[str]:
    lines = [f"by condition (figures from fewer than {data['min_participants']} participants: not enough data):"]
    for c in data["conditions"]:
        s, sdt = c["score"], c["sdt"]
        if not c["enough_data"]:
            lines.append(f"  {c['name']}: n = {c['n']} participants: not enough data")
            continue
        lines.append(
            f"  {c['name']}: n = {c['n']} participants ({c['n_completed']} completed, {c['n_answers']} answers), "
            f"accuracy {percent_text(c['accuracy'])}, mean score {_fmt(s['mean'])} "
            f"95% CI [{_fmt(s['ci_low'])}, {_fmt(s['ci_high'])}] (n = {s['n']}), "
            f"d' {_fmt(sdt['pooled']['dprime'], 3)}, c {_fmt(sdt['pooled']['criterion'], 3)}")
        if c["reliance"]:
            lines.append(f"    agreed with the model when it was right {_share(c['reliance']['agreement_model_right'])}, "
                         f"when it was wrong {_share(c['reliance']['agreement_model_wrong'])}")
        if c["switching"]:
            sw = c["switching"]
            lines.append(f"    switched to the model {_share(sw['switched_to_model'])}, away from it "
                         f"{_share(sw['switched_away_from_model'])}; accuracy before the hint "
                         f"{_share(sw['accuracy_before_hint'])}, after {_share(sw['accuracy_after_hint'])}")
    comparison = data["comparison"]
    if comparison["note"]:
        lines.append(f"  comparison: {comparison['note']}")
        return lines
    chi, logit = comparison["chi_square"], comparison["logistic"]
    lines.append(f"  chi-square (right/wrong by condition, {chi['n_answers']} answers): "
                 + (chi["note"] or f"chi2({chi['df']}) = {_fmt(chi['statistic'], 3)}, p = {_fmt(chi['p'], 4)}"))
    if logit["note"]:
        lines.append(f"  logistic regression: {logit['note']}")
    else:
        terms = "; ".join(f"{t['condition']} OR {_fmt(t['odds_ratio'], 3)} [{_fmt(t['odds_ratio_ci_low'], 3)}, "
                          f"{_fmt(t['odds_ratio_ci_high'], 3)}], p = {_fmt(t['p'], 4)}" for t in logit["terms"])
        lines.append(f"  logistic regression of correctness on condition (reference {logit['reference']}, "
                     f"SE clustered by participant, {logit['n_participants']} participants): {terms}; "
                     f"joint Wald chi2({logit['wald']['df']}) = {_fmt(logit['wald']['statistic'], 3)}, "
                     f"p = {_fmt(logit['wald']['p'], 4)}")
    return lines


def export_command(args) -> int:
    from study import analysis
    from study.analysis import export as participants_export
    from study.database import database_copy
    from study.survey import export as survey_export
    from study.config import get_settings

    if args.what == "database":
        size = database_copy(get_settings().database_url, args.out)
        emit({"what": "database", "file": str(args.out), "bytes": size}, args.json,
             [f"copied the study database to {args.out} ({size} bytes)"])
        return 0
    engine = study_engine()
    set_id = analysis.resolve_set_id(engine, args.set_id)
    write = survey_export.write_answers if args.what == "answers" else participants_export.write_participants
    files, rows = write(engine, set_id, args.out)
    emit({"what": args.what, "set_id": set_id, **files.as_dict(), "rows": rows}, args.json,
         [f"wrote {rows} {args.what} rows of set {set_id} to {files.csv} (column meanings in {files.dictionary}, "
          f"the set described in {files.description})"])
    return 0
