"""Issue 14's analysis side: the set's pre-registered exclusion rules applied by
`results` and counted per rule, the ad-hoc filters on top of them, the device
filter and n per device class, withdrawn people absent from every figure and
export, and `survey export` writing the same data dictionary as `export answers`.
Every count and figure is recomputed from the exported CSVs alone (pandas here,
never study.analysis); simulated people (study.survey.simulate) give the data."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from helpers import run_cli as run
from study.cli import main

SIZE = 15
SPEEDER_MS = 2600
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36"


def real_person(engine, user_agent: str, *, answers: int | None = None) -> tuple[str, int]:
    """A person through the survey page's functions: consent from this browser, then
    `answers` images (None: to the end), checks answered as asked. (token, id)."""
    from study import survey
    from study.survey import checks

    step = survey.current_step(engine, survey.Visit(), ())
    token = survey.consent(engine, survey.Visit(), token=step.pending_token, consent_hash=step.survey.consent_hash,
                           user_agent=user_agent)
    survey.answer_questions(engine, token, None, None)
    survey.begin(engine, token)
    import db.survey as q

    person = q.participant_by_token(engine, token)
    seed = q.get_set(engine, person.set_id).seed
    given = 0
    while (step := survey.current_step(engine, survey.Visit(token=token))).stage != "done":
        if answers is not None and given >= answers:
            break
        if step.stage == "check":
            survey.submit_check(engine, token, step.check, checks.expected_answer(seed, person.id, step.check))
        elif step.stage == "feedback":
            survey.continue_after_feedback(engine, token, step.position)
        elif step.phase == "first":
            survey.submit_first_answer(engine, token, step.position, 1)
        else:
            survey.submit_answer(engine, token, step.position, 1, 3)
            given += 1
    return token, int(person.id)


@pytest.fixture
def study(capsys, tmp_path, finished_run):
    """A set of 15 in control and model (after_first) with 2 attention checks and every
    pre-registered rule; 30 simulated people (some stop part-way), one real person who
    finishes on a phone (and is a speeder: the flow runs in milliseconds), and one who
    answers four images on a desktop and withdraws. The answers and participants exports."""
    from study import survey

    engine, run_id = finished_run
    code, out, err = run(capsys, "survey", "create", "--size", SIZE, "--seed", 3, "--conditions", "control,model",
                         "--hint-run", run_id, "--hint-timing", "after_first", "--attention-checks", 2,
                         "--exclude-failed-checks", "--exclude-speeders", SPEEDER_MS, "--exclude-incomplete", "--json")
    assert code == 0, err
    set_id = json.loads(out)["id"]
    code, out, _ = run(capsys, "survey", "simulate", "--participants", 30, "--seed", 5, "--dropout", 0.2, "--json")
    assert code == 0
    _, stayer = real_person(engine, IPHONE)
    token, leaver = real_person(engine, DESKTOP, answers=4)
    assert survey.withdraw(engine, token) == 4
    files = {}
    for what in ("answers", "participants"):
        files[what] = tmp_path / f"{what}.csv"
        code, _, err = run(capsys, "export", what, "--out", files[what], "--json")
        assert code == 0, err
    return {"engine": engine, "set_id": set_id, "stayer": stayer, "leaver": leaver, **files}


def results(capsys, *args) -> dict:
    code, out, err = run(capsys, "results", "--json", *args)
    assert code == 0, err
    return json.loads(out)


def rules_of(people: pd.DataFrame) -> pd.DataFrame:
    """Which pre-registered rule names each person, from the participants CSV alone."""
    return pd.DataFrame({
        "failed_checks": people["checks_failed"] > 0,
        "speeder": people["median_response_ms_server"] < SPEEDER_MS,  # NaN (no answers): never a speeder
        "incomplete": people["completed"] == 0,
    }, index=people.index)


def read(study) -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.read_csv(study["answers"]), pd.read_csv(study["participants"], keep_default_na=False,
                                                      na_values={"median_response_ms_server": [""]})


def figures(answers: pd.DataFrame, kept_ids, completed_only=False) -> dict:
    """Counts and figures of the answers of the kept participants."""
    rows = answers[answers["participant_id"].isin(kept_ids)]
    if completed_only:
        rows = rows[rows["participant_completed"] == 1]
    done = answers[answers["participant_id"].isin(kept_ids) & (answers["participant_completed"] == 1)]
    scores = done.groupby("participant_id")["correct"].sum()
    by_condition = {name: {"n": part["participant_id"].nunique(), "n_answers": len(part),
                           "accuracy": part["correct"].mean()} for name, part in rows.groupby("condition")}
    return {"answers": len(rows), "accuracy": rows["correct"].mean(), "n_scored": len(scores),
            "mean": scores.mean(), "by_condition": by_condition}


def assert_figures(data: dict, expected: dict) -> None:
    assert data["participants"]["answers_analysed"] == expected["answers"]
    assert data["accuracy"]["overall"] == pytest.approx(expected["accuracy"])
    assert data["scores"]["n"] == expected["n_scored"]
    assert data["scores"]["mean"] == pytest.approx(expected["mean"])
    got = {c["name"]: c for c in data["by_condition"]["conditions"]}
    for name, want in expected["by_condition"].items():
        assert (got[name]["n"], got[name]["n_answers"]) == (want["n"], want["n_answers"]), name
        assert got[name]["accuracy"] == pytest.approx(want["accuracy"]), name


# --- the pre-registered rules ------------------------------------------------------------

def test_each_rule_is_counted_and_applied_as_recomputed_from_the_exported_csvs(capsys, study):
    answers, people = read(study)
    named = rules_of(people)
    column = named.apply(lambda row: ";".join(rule for rule in named.columns if row[rule]), axis=1)
    assert people["excluded_by_rules"].tolist() == column.tolist()  # the export names them as the rules do

    data = results(capsys, "--include-simulated")
    assert data["exclusions"] == {
        "rules": {"failed_checks": True, "speeder_ms": SPEEDER_MS, "incomplete": True}, "applied": True,
        **{rule: int(named[rule].sum()) for rule in named.columns}, "excluded": int(named.any(axis=1).sum())}
    assert all(data["exclusions"][rule] > 0 for rule in named.columns)  # the data exercise every rule
    assert data["participants"]["excluded_by"]["preregistered"] == named.any(axis=1).sum()
    kept = people.loc[~named.any(axis=1), "participant_id"]
    assert_figures(data, figures(answers, kept))
    # The real person who finished is a speeder (the flow ran in milliseconds): left out.
    assert "speeder" in people.set_index("participant_id").loc[study["stayer"], "excluded_by_rules"]

    code, out, _ = run(capsys, "results", "--include-simulated")
    assert code == 0 and "Pre-registered exclusion rules (fixed before anybody consented): failed an attention " \
        f"check: {named['failed_checks'].sum()}; median response time below {SPEEDER_MS} ms: " \
        f"{named['speeder'].sum()}; did not answer every image: {named['incomplete'].sum()}" in out
    assert "left out of every figure" in out and "1 withdrew: counted nowhere, in no export" in out


def test_the_ad_hoc_filters_come_on_top_and_the_rules_can_be_switched_off_to_check(capsys, study):
    answers, people = read(study)
    named = rules_of(people)
    by_rules = named.any(axis=1)
    slow = people["median_response_ms_server"] < 3400
    data = results(capsys, "--include-simulated", "--exclude-speeders", 3400, "--completed-only")
    assert data["participants"]["excluded_by"]["speeder"] == (slow & ~by_rules).sum() > 0
    assert data["exclusions"]["speeder"] == named["speeder"].sum()  # the rule's own count does not move
    assert_figures(data, figures(answers, people.loc[~by_rules & ~slow, "participant_id"], completed_only=True))

    data = results(capsys, "--include-simulated", "--without-preregistered-exclusions")
    assert data["exclusions"]["applied"] is False and data["exclusions"]["excluded"] == by_rules.sum()
    assert data["participants"]["excluded_by"]["preregistered"] == 0
    assert_figures(data, figures(answers, people["participant_id"]))
    code, out, _ = run(capsys, "results", "--include-simulated", "--without-preregistered-exclusions")
    assert "NOT applied (a sensitivity check" in out


def test_a_set_without_rules_says_so_and_leaves_nobody_out(capsys):
    run(capsys, "survey", "create", "--size", SIZE, "--seed", 1)
    run(capsys, "survey", "simulate", "--participants", 4, "--seed", 2, "--dropout", 0.5)
    data = results(capsys, "--include-simulated")
    assert data["exclusions"] == {"rules": {"failed_checks": False, "speeder_ms": None, "incomplete": False},
                                  "applied": True, "failed_checks": None, "speeder": None, "incomplete": None,
                                  "excluded": 0}
    assert data["participants"]["excluded"] == 0
    assert "Pre-registered exclusion rules: none." in run(capsys, "results", "--include-simulated")[1]


# --- withdrawal --------------------------------------------------------------------------

def test_withdrawn_people_are_in_no_export_and_no_figure_and_are_counted_as_such(capsys, study):
    answers, people = read(study)
    leaver = study["leaver"]
    assert leaver not in set(answers["participant_id"]) and leaver not in set(people["participant_id"])
    assert len(people) == 31 and study["stayer"] in set(people["participant_id"])
    for name in ("answers.txt", "participants.txt"):
        assert "withdrew: 1 participant(s); their answers were deleted and they are in no export" in \
            study["answers"].with_name(name).read_text()
    data = results(capsys, "--include-simulated", "--without-preregistered-exclusions")
    assert data["participants"]["withdrawn"] == 1 and data["participants"]["total"] == 31
    assert sum(d["n"] for d in data["by_device"].values()) == 31
    assert data["participants"]["answers_analysed"] == len(answers)

    from study.analysis import analyse, load_participants
    from study.analysis.results import Inclusion

    result = analyse(study["engine"], study["set_id"], Inclusion(include_simulated=True, preregistered=False))
    assert leaver not in set(result.participants["participant_id"])
    assert leaver not in set(result.answers["participant_id"])
    assert leaver not in set(load_participants(study["engine"], study["set_id"])["participant_id"])
    assert leaver in set(load_participants(study["engine"], study["set_id"], withdrawn=True)["participant_id"])


# --- the device class ----------------------------------------------------------------------

def test_results_filter_by_device_and_give_n_per_device_class(capsys, study):
    answers, people = read(study)
    kept = people[~rules_of(people).any(axis=1)]
    devices = kept["device_class"].replace("", "unknown")
    assert set(people["device_class"]) <= {"desktop", "mobile", "tablet"}  # simulated people have one too
    data = results(capsys, "--include-simulated", "--device", "mobile")
    assert data["filters"]["device_classes"] == ["mobile"]
    assert data["participants"]["excluded_by"]["device"] == (devices != "mobile").sum() > 0
    assert_figures(data, figures(answers, kept.loc[devices == "mobile", "participant_id"]))
    for name in ("desktop", "mobile", "tablet", "unknown"):
        got = data["by_device"][name]
        ids = kept.loc[devices == name, "participant_id"]
        rows = answers[answers["participant_id"].isin(ids)]
        assert (got["n"], got["n_answers"], got["included"]) == (len(ids), len(rows), name == "mobile"), name
        assert got["n_completed"] == (kept.loc[devices == name, "completed"] == 1).sum()
        if len(ids) >= 2:
            assert got["accuracy"] == pytest.approx(rows["correct"].mean())
        else:
            assert got["accuracy"] is None

    data = results(capsys, "--include-simulated", "--device", "desktop", "--device", "tablet")
    assert_figures(data, figures(answers, kept.loc[devices.isin(["desktop", "tablet"]), "participant_id"]))
    code, out, _ = run(capsys, "results", "--include-simulated", "--device", "tablet")
    assert code == 0 and "by device (participants who count under every other rule): desktop" in out
    assert "[filtered out]" in out
    with pytest.raises(SystemExit) as exited:
        main(["results", "--device", "phone"])
    assert exited.value.code == 2 and "invalid choice: 'phone'" in capsys.readouterr().err


def test_who_counts_is_one_rule_for_every_page(study):
    """Live predictions' counted_answers, given the set's rules, keeps exactly what analyse() keeps."""
    from study.analysis.results import DEVICE_OPTIONS, Inclusion, analyse, counted_answers, load_answers
    from study.commands.results import DEVICE_CHOICES
    from study.survey import summary

    assert DEVICE_CHOICES == DEVICE_OPTIONS
    engine, set_id = study["engine"], study["set_id"]
    rules = summary(engine, set_id).exclusion_rules
    loaded = load_answers(engine, set_id)
    for inclusion in (Inclusion(include_simulated=True), Inclusion(include_simulated=True, preregistered=False),
                      Inclusion(include_simulated=True, device_classes=("mobile", "unknown")),
                      Inclusion(include_simulated=True, completed_only=True, speeder_ms=3000)):
        assert counted_answers(loaded, inclusion, rules).equals(analyse(engine, set_id, inclusion).answers), inclusion


# --- the exports' dictionaries --------------------------------------------------------------

def test_the_participants_export_describes_its_new_columns(study):
    dictionary = pd.read_csv(study["participants"].with_name("participants.dictionary.csv")).set_index("column")
    columns = list(pd.read_csv(study["participants"], nrows=0).columns)
    assert dictionary.index.tolist() == columns
    assert columns[-4:] == ["device_class", "checks_passed", "checks_failed", "excluded_by_rules"]
    assert "failed_checks" in dictionary.loc["excluded_by_rules", "meaning"]
    assert "withdrew are in no export" in dictionary.loc["participant_id", "meaning"]
    _, people = read(study)
    assert ((people["checks_passed"] + people["checks_failed"]) == 2).sum() > 20  # who finished saw both checks
    described = study["participants"].with_name("participants.txt").read_text()
    assert "attention checks: 2 per participant" in described and f"speeder_ms {SPEEDER_MS}" in described


def test_survey_export_writes_the_same_files_as_export_answers(capsys, study, tmp_path):
    code, out, err = run(capsys, "survey", "export", "--out", tmp_path / "survey.csv", "--json")
    assert code == 0, err
    written = json.loads(out)
    assert written == {"set_id": study["set_id"], "csv": str(tmp_path / "survey.csv"),
                       "dictionary": str(tmp_path / "survey.dictionary.csv"),
                       "description": str(tmp_path / "survey.txt"), "answers": len(pd.read_csv(study["answers"]))}
    assert (tmp_path / "survey.csv").read_text() == study["answers"].read_text()
    assert (tmp_path / "survey.dictionary.csv").read_text() == \
        study["answers"].with_name("answers.dictionary.csv").read_text()
    assert "survey.dictionary.csv (column, type, meaning)" in (tmp_path / "survey.txt").read_text()
    code, out, _ = run(capsys, "survey", "export", "--out", tmp_path / "again.csv")
    assert code == 0 and "column meanings in" in out and "again.dictionary.csv" in out


# --- simulated people -----------------------------------------------------------------------

def test_simulated_first_answers_take_time_and_some_switch_away_from_an_agreeing_model(capsys, study):
    answers, _ = read(study)
    first = answers[answers["initial_answer"].notna()]
    simulated = first[first["is_simulated"] == 1]
    assert len(simulated) > 100
    assert simulated["first_response_ms_server"].median() > 1500  # a decision, not the few ms the flow takes
    assert (simulated["first_response_ms_server"] < simulated["response_ms_server"]).all()  # the hint came after
    agreed = first[first["initial_answer"] == first["hint_verdict"]]
    away = (agreed["answer"] != agreed["hint_verdict"]).mean()
    assert 0 < away < 0.15
    data = results(capsys, "--include-simulated", "--without-preregistered-exclusions")
    model = next(c for c in data["by_condition"]["conditions"] if c["name"] == "model")
    assert model["switching"]["switched_away_from_model"]["share"] == pytest.approx(away)
    assert model["switching"]["switched_away_from_model"]["n_answers"] == len(agreed)
