"""Results per condition (issue 14): every figure of `results --json`'s
by_condition recomputed from the exported answers CSV alone (pandas, scipy and
statsmodels here, never study.analysis), on simulated participants in a set with
control, model and model_cam (after_first); the files beside every export; and
researchers' previews, which are marked in the exports and never counted."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from helpers import run_cli as run

SIZE = 15


def preview_everything(engine, set_id: int, condition: str) -> None:
    """A researcher previews a condition and answers every image (both answers)."""
    from study import survey

    token = survey.start_preview(engine, set_id, condition)
    survey.answer_questions(engine, token, None, None)
    survey.begin(engine, token)
    while (step := survey.current_step(engine, survey.Visit(token=token))).stage == "image":
        if step.phase == "first":
            survey.submit_first_answer(engine, token, step.position, 1)
        else:
            survey.submit_answer(engine, token, step.position, 1, 5)


@pytest.fixture
def conditions_study(capsys, tmp_path, finished_run):
    """Set of 15 with control, model, model_cam (after_first), 21 simulated
    participants (some stop part-way), and one researcher's preview of `model`."""
    engine, run_id = finished_run
    code, out, err = run(capsys, "survey", "create", "--size", SIZE, "--seed", 3, "--conditions",
                         "control,model,model_cam", "--hint-run", run_id, "--hint-timing", "after_first", "--json")
    assert code == 0, err
    set_id = json.loads(out)["id"]
    code, out, _ = run(capsys, "survey", "simulate", "--participants", 21, "--seed", 5, "--dropout", 0.2, "--json")
    assert code == 0 and json.loads(out)["participants"] == 21
    preview_everything(engine, set_id, "model")
    csv = tmp_path / "answers.csv"
    code, out, _ = run(capsys, "export", "answers", "--out", csv, "--json")
    assert code == 0
    return csv


# --- the recomputation -----------------------------------------------------------------

def share(rows: pd.DataFrame, hit: pd.Series) -> dict:
    enough = rows["participant_id"].nunique() >= 2
    return {"share": float(hit.mean()) if enough else None, "n_answers": len(rows),
            "n_participants": rows["participant_id"].nunique()}


def dprime(rows: pd.DataFrame) -> tuple[float, float]:
    fake, real = rows[rows["label"] == 1], rows[rows["label"] == 0]
    z = stats.norm.ppf
    h = ((fake["answer"] == 1).sum() + 0.5) / (len(fake) + 1)  # log-linear correction
    f = ((real["answer"] == 1).sum() + 0.5) / (len(real) + 1)
    return z(h) - z(f), -(z(h) + z(f)) / 2


def recompute(csv, include_simulated=True, completed_only=False) -> dict:
    df = pd.read_csv(csv)
    df = df[df["is_preview"] == 0]  # never counted
    if not include_simulated:
        df = df[df["is_simulated"] == 0]
    if completed_only:
        df = df[df["participant_completed"] == 1]
    out = {}
    for name, rows in df.groupby("condition"):
        done = rows[rows["participant_completed"] == 1]
        scores = done.groupby("participant_id")["correct"].sum().to_numpy(float)
        n = len(scores)
        mean, sd = scores.mean(), scores.std(ddof=1)
        half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
        own = [dprime(part) for _, part in done.groupby("participant_id")]
        figures = {
            "n": rows["participant_id"].nunique(), "n_completed": n, "n_answers": len(rows),
            "accuracy": rows["correct"].mean(), "mean": mean, "ci": (mean - half, mean + half),
            "mean_accuracy": mean / SIZE, "pooled": dprime(rows), "mean_dprime": np.mean([d for d, _ in own]),
            "mean_criterion": np.mean([c for _, c in own]),
            "calibration": [share(rows[rows["confidence"] == level], rows[rows["confidence"] == level]["correct"] == 1)
                            for level in (1, 2, 3, 4, 5)],
        }
        hinted = rows[rows["hint_verdict"].notna()]
        if len(hinted):
            right = hinted["hint_verdict"] == hinted["label"]
            agrees = hinted["answer"] == hinted["hint_verdict"]
            figures["reliance"] = {"agreement_model_right": share(hinted[right], agrees[right]),
                                   "agreement_model_wrong": share(hinted[~right], agrees[~right]),
                                   "model_accuracy": share(hinted, right)}
            first = hinted[hinted["initial_answer"].notna()]
            disagreed = first["initial_answer"] != first["hint_verdict"]
            final_is_model = first["answer"] == first["hint_verdict"]
            figures["switching"] = {
                "switched_to_model": share(first[disagreed], final_is_model[disagreed]),
                "switched_away_from_model": share(first[~disagreed], ~final_is_model[~disagreed]),
                "changed_answer": share(first, first["answer"] != first["initial_answer"]),
                "accuracy_before_hint": share(first, first["initial_answer"] == first["label"]),
                "accuracy_after_hint": share(first, first["correct"] == 1),
            }
        out[name] = figures
    table = pd.crosstab(df["condition"], df["correct"])
    chi = stats.chi2_contingency(table.to_numpy(), correction=False)
    fit = smf.logit("correct ~ C(condition, Treatment('control'))", data=df).fit(
        disp=0, cov_type="cluster", cov_kwds={"groups": pd.factorize(df["participant_id"])[0]})
    terms = {}
    ci = fit.conf_int()
    for name in ("model", "model_cam"):
        term = f"C(condition, Treatment('control'))[T.{name}]"
        terms[name] = {"odds_ratio": math.exp(fit.params[term]), "p": fit.pvalues[term], "se": fit.bse[term],
                       "ci": (math.exp(ci.loc[term, 0]), math.exp(ci.loc[term, 1]))}
    joint = fit.wald_test_terms(scalar=True).table.loc["C(condition, Treatment('control'))"]
    return {"conditions": out, "chi": (chi.statistic, chi.dof, chi.pvalue), "terms": terms,
            "wald": (joint["statistic"], joint["pvalue"], joint["df_constraint"]), "n_answers": len(df)}


def assert_share(got: dict, expected: dict, what: str) -> None:
    assert (got["n_answers"], got["n_participants"]) == (expected["n_answers"], expected["n_participants"]), what
    if expected["share"] is None:
        assert got["share"] is None, what
    else:
        assert got["share"] == pytest.approx(expected["share"], rel=1e-12), what


def assert_matches(data: dict, expected: dict) -> None:
    conditions = {c["name"]: c for c in data["conditions"]}
    assert list(conditions) == ["control", "model", "model_cam"]
    assert set(expected["conditions"]) == set(conditions)
    for name, want in expected["conditions"].items():
        got = conditions[name]
        assert (got["n"], got["n_completed"], got["n_answers"]) == (want["n"], want["n_completed"], want["n_answers"])
        assert got["enough_data"] and got["accuracy"] == pytest.approx(want["accuracy"])
        assert got["score"]["mean"] == pytest.approx(want["mean"])
        assert (got["score"]["ci_low"], got["score"]["ci_high"]) == pytest.approx(want["ci"])
        assert got["score"]["mean_accuracy"] == pytest.approx(want["mean_accuracy"])
        assert (got["sdt"]["pooled"]["dprime"], got["sdt"]["pooled"]["criterion"]) == pytest.approx(want["pooled"])
        assert got["sdt"]["mean_dprime"] == pytest.approx(want["mean_dprime"])
        assert got["sdt"]["mean_criterion"] == pytest.approx(want["mean_criterion"])
        for level, (g, w) in enumerate(zip(got["calibration"], want["calibration"]), start=1):
            assert g["confidence"] == level
            assert_share(g, w, f"{name} confidence {level}")
        assert (got["reliance"] is None) == ("reliance" not in want) == (name == "control")
        for group in ("reliance", "switching"):
            for key, figure in want.get(group, {}).items():
                assert_share(got[group][key], figure, f"{name} {key}")
    comparison = data["comparison"]
    assert comparison["conditions"] == ["control", "model", "model_cam"] and comparison["left_out"] == []
    chi = comparison["chi_square"]
    assert (chi["statistic"], chi["df"], chi["p"]) == pytest.approx(expected["chi"])
    assert chi["n_answers"] == expected["n_answers"]
    logit = comparison["logistic"]
    assert logit["reference"] == "control" and logit["n_answers"] == expected["n_answers"]
    for term in logit["terms"]:
        want = expected["terms"][term["condition"]]
        assert term["odds_ratio"] == pytest.approx(want["odds_ratio"], rel=1e-6)
        assert term["se"] == pytest.approx(want["se"], rel=1e-6)
        assert term["p"] == pytest.approx(want["p"], rel=1e-6)
        assert (term["odds_ratio_ci_low"], term["odds_ratio_ci_high"]) == pytest.approx(want["ci"], rel=1e-6)
    statistic, p, df = expected["wald"]
    assert (logit["wald"]["statistic"], logit["wald"]["p"], logit["wald"]["df"]) == pytest.approx(
        (statistic, p, df), rel=1e-6)


def test_every_figure_by_condition_is_recomputed_from_the_exported_csv(capsys, conditions_study):
    code, out, _ = run(capsys, "results", "--json", "--include-simulated")
    assert code == 0
    assert_matches(json.loads(out)["by_condition"], recompute(conditions_study))

    code, out, _ = run(capsys, "results", "--json", "--include-simulated", "--completed-only")
    assert code == 0
    assert_matches(json.loads(out)["by_condition"], recompute(conditions_study, completed_only=True))

    code, out, _ = run(capsys, "results", "--include-simulated")
    assert code == 0 and "by condition" in out and "logistic regression of correctness on condition" in out
    assert "agreed with the model when it was right" in out and "switched to the model" in out


def test_previews_are_marked_in_the_exports_and_never_counted(capsys, conditions_study, tmp_path):
    answers = pd.read_csv(conditions_study)
    preview = answers[answers["is_preview"] == 1]
    assert len(preview) == SIZE and set(preview["condition"]) == {"model"} and (preview["is_simulated"] == 0).all()
    assert preview["initial_answer"].notna().all() and preview["first_response_ms_server"].notna().all()
    others = answers[answers["is_preview"] == 0]
    control = others[others["condition"] == "control"]
    assert control[["hint_verdict", "hint_p_ai", "initial_answer", "first_response_ms_server"]].isna().all().all()
    hinted = others[others["condition"] != "control"]
    assert hinted[["hint_verdict", "hint_p_ai", "initial_answer", "first_response_ms_server"]].notna().all().all()
    assert ((hinted["hint_p_ai"] >= 0.5) == (hinted["hint_verdict"] == 1)).all()

    people = tmp_path / "people.csv"
    code, out, _ = run(capsys, "export", "participants", "--out", people, "--json")
    assert code == 0
    table = pd.read_csv(people)
    assert table["is_preview"].sum() == 1 and table.loc[table["is_preview"] == 1, "condition"].item() == "model"

    # By default simulated people are left out, and the preview is the only one left: still nobody counts.
    code, out, _ = run(capsys, "results", "--json")
    data = json.loads(out)
    assert data["participants"]["excluded_by"]["preview"] == 1 and data["participants"]["answers_analysed"] == 0
    assert [c["n"] for c in data["by_condition"]["conditions"]] == [0, 0, 0]
    assert not any(c["enough_data"] for c in data["by_condition"]["conditions"])
    assert "not enough data" in data["by_condition"]["comparison"]["note"]
    code, out, _ = run(capsys, "results", "--json", "--include-simulated")
    data = json.loads(out)
    assert data["participants"]["excluded_by"]["preview"] == 1
    assert sum(c["n"] for c in data["by_condition"]["conditions"]) == 21
    assert data["participants"]["answers_analysed"] == len(answers) - SIZE

    # Live predictions' "what the humans said" follows the same rule.
    from db import open_database
    from study.analysis.results import Inclusion, counted_answers, load_answers, resolve_set_id
    from study.config import get_settings

    engine = open_database(get_settings().database_url)
    loaded = load_answers(engine, resolve_set_id(engine, None))
    counted = counted_answers(loaded, Inclusion(include_simulated=True))
    assert len(counted) == len(answers) - SIZE and not counted["is_preview"].any()


def test_every_csv_export_has_its_data_dictionary_and_the_sets_description_beside_it(capsys, conditions_study,
                                                                                     tmp_path):
    for what, csv in (("answers", conditions_study), ("participants", tmp_path / "people.csv")):
        if what == "participants":
            code, out, _ = run(capsys, "export", "participants", "--out", csv, "--json")
            assert code == 0 and json.loads(out)["dictionary"] == str(tmp_path / "people.dictionary.csv")
        columns = list(pd.read_csv(csv, nrows=0).columns)
        dictionary = pd.read_csv(csv.with_name(csv.stem + ".dictionary.csv"))
        assert list(dictionary.columns) == ["column", "type", "meaning"]
        assert dictionary["column"].tolist() == columns, what
        assert set(dictionary["type"]) <= {"integer", "number", "string", "boolean", "datetime"}
        assert dictionary["meaning"].str.len().min() > 10
        description = csv.with_name(csv.stem + ".txt").read_text()
        assert "survey set" in description and "model_cam: hint model_cam, hint_timing after_first" in description
        assert "checkpoint sha256" in description and f"{csv.stem}.dictionary.csv" in description
    assert "Hautus" in (tmp_path / "people.dictionary.csv").read_text()
    assert "--- consent text" in (tmp_path / "people.txt").read_text()


# --- "not enough data" --------------------------------------------------------------

def test_a_figure_from_fewer_than_two_participants_is_not_enough_data():
    from study.analysis.conditions import by_condition, summary_table

    conditions = [{"name": "control", "hint": "none", "hint_timing": "before", "feedback": "end", "display_ms": None},
                  {"name": "model", "hint": "model", "hint_timing": "before", "feedback": "end", "display_ms": None}]
    rows = []
    for pid, condition in ((1, "control"), (2, "control"), (3, "model")):
        for k in range(4):
            rows.append({"participant_id": pid, "condition": condition, "label": k % 2, "answer": 1,
                         "correct": int(k % 2 == 1), "confidence": 3.0,
                         "hint_verdict": 1.0 if condition == "model" else np.nan, "initial_answer": np.nan})
    answers = pd.DataFrame(rows)
    scored = pd.DataFrame({"participant_id": [1, 2, 3], "condition": ["control", "control", "model"],
                           "correct": [2, 2, 2], "dprime": [0.0, 0.0, 0.0], "criterion": [-0.5, -0.5, -0.5]})
    data = by_condition(conditions, answers, scored, 4)
    control, model = data["conditions"]
    assert control["enough_data"] and control["accuracy"] == 0.5 and control["calibration"][2]["share"] == 0.5
    assert not model["enough_data"] and model["n"] == 1 and model["n_answers"] == 4
    assert model["accuracy"] is None and model["score"]["mean"] is None and model["sdt"]["pooled"]["dprime"] is None
    assert model["reliance"]["agreement_model_right"] == {"share": None, "n_answers": 2, "n_participants": 1}
    assert model["calibration"][2]["share"] is None and model["switching"] is None
    assert data["comparison"]["left_out"] == ["model"] and data["comparison"]["chi_square"] is None
    assert "not enough data" in data["comparison"]["note"]
    table = summary_table(data).set_index("condition")
    assert table.loc["model", "accuracy"] == "not enough data" and table.loc["control", "accuracy"] == "50.0%"
