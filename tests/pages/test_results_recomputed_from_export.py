"""`python -m study results`, `export` and `survey simulate`; and the promise that
every number the Results page and `results --json` show can be recomputed from
the exported long CSV alone (pandas + scipy here, never study.analysis)."""
from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from apptest_helpers import researcher_page
from helpers import run_cli as run


def recompute(csv: Path, set_size: int, include_simulated=False, completed_only=False, speeder_ms=None) -> dict:
    """The figures from the answers CSV, written out from the definitions."""
    df = pd.read_csv(csv)
    if not include_simulated:
        df = df[df["is_simulated"] == 0]
    if speeder_ms:
        medians = df.groupby("participant_id")["response_ms_server"].median()
        df = df[df["participant_id"].isin(medians[medians >= speeder_ms].index)]
    scores = df[df["participant_completed"] == 1].groupby("participant_id")["correct"].sum().to_numpy(float)
    answers = df[df["participant_completed"] == 1] if completed_only else df
    n = len(scores)
    mean, sd = scores.mean(), scores.std(ddof=1)
    half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    t = (mean - set_size / 2) / (sd / math.sqrt(n))
    fake, real = answers[answers["label"] == 1], answers[answers["label"] == 0]
    hit_rate = ((fake["answer"] == 1).sum() + 0.5) / (len(fake) + 1)  # log-linear correction
    fa_rate = ((real["answer"] == 1).sum() + 0.5) / (len(real) + 1)
    z = stats.norm.ppf
    per_image = answers.groupby("image_id").agg(n=("correct", "size"), share_right=("correct", "mean"))
    return {
        "n": n, "mean": mean, "median": float(np.median(scores)), "sd": sd, "ci": (mean - half, mean + half),
        "t": t, "p": 2 * stats.t.sf(abs(t), n - 1),
        "acc_real": real["correct"].mean(), "acc_fake": fake["correct"].mean(),
        "dprime": z(hit_rate) - z(fa_rate), "criterion": -(z(hit_rate) + z(fa_rate)) / 2,
        "per_image": per_image, "answers": len(answers),
        "above_chance": int((scores >= 12).sum()),
    }


def assert_json_matches(data: dict, expected: dict) -> None:
    s = data["scores"]
    assert s["n"] == expected["n"]
    for key in ("mean", "median", "sd", "t", "p"):
        assert s[key] == pytest.approx(expected[key], rel=1e-9), key
    assert (s["ci_low"], s["ci_high"]) == pytest.approx(expected["ci"], rel=1e-9)
    assert s["n_above_chance"] == expected["above_chance"]
    assert data["accuracy"]["real"] == pytest.approx(expected["acc_real"])
    assert data["accuracy"]["fake"] == pytest.approx(expected["acc_fake"])
    assert data["sdt"]["pooled"]["dprime"] == pytest.approx(expected["dprime"])
    assert data["sdt"]["pooled"]["criterion"] == pytest.approx(expected["criterion"])
    assert data["participants"]["answers_analysed"] == expected["answers"]
    shares = {i["image_id"]: (i["n"], i["share_right"]) for i in data["images"] if i["n"]}
    assert shares.keys() == set(expected["per_image"].index)
    for image_id, row in expected["per_image"].iterrows():
        assert shares[image_id][0] == row["n"] and shares[image_id][1] == pytest.approx(row["share_right"])


@pytest.fixture
def simulated_study(capsys, tmp_path):
    """A demo set of 15 with 14 simulated participants, a few of whom stop part-way."""
    code, out, _ = run(capsys, "survey", "create", "--size", 15, "--seed", 3, "--json")
    assert code == 0
    code, out, _ = run(capsys, "survey", "simulate", "--participants", 14, "--seed", 5, "--dropout", 0.25, "--json")
    added = json.loads(out)
    assert code == 0 and added["participants"] == 14 and 0 < added["completed"] < 14
    csv = tmp_path / "answers.csv"
    code, out, _ = run(capsys, "export", "answers", "--out", csv, "--json")
    assert code == 0 and json.loads(out)["rows"] == added["answers"]
    return csv


def test_results_json_and_the_page_match_a_recomputation_from_the_exported_csv(capsys, simulated_study):
    expected = recompute(simulated_study, 15, include_simulated=True)
    code, out, _ = run(capsys, "results", "--json", "--include-simulated")
    data = json.loads(out)
    assert code == 0
    assert_json_matches(data, expected)

    at = researcher_page("results.py", timeout=60).run()
    at.toggle(key="include_simulated").set_value(True).run()
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    assert shown["Mean score (of 15)"] == f"{expected['mean']:.2f}"
    assert shown["Median"] == f"{expected['median']:.2f}"
    assert shown["SD"] == f"{expected['sd']:.2f}"
    assert shown["95% CI of the mean"] == f"[{expected['ci'][0]:.2f}, {expected['ci'][1]:.2f}]"
    assert shown["Accuracy on REAL images"] == f"{100 * expected['acc_real']:.1f}%"
    assert shown["Accuracy on FAKE images"] == f"{100 * expected['acc_fake']:.1f}%"
    assert shown["d′ (pooled)"] == f"{expected['dprime']:.3f}"
    assert shown["Answers analysed"] == str(expected["answers"])
    captions = "\n".join(c.value for c in at.caption)
    assert f"t({expected['n'] - 1}) = {expected['t']:.3f}, p = {expected['p']:.4f}" in captions
    table = next(d.value for d in at.dataframe if "share right" in d.value.columns).set_index("image_id")
    for image_id, row in expected["per_image"].iterrows():
        assert table.loc[image_id, "n"] == row["n"]
        assert table.loc[image_id, "share right"] == pytest.approx(row["share_right"])


def test_filters_match_the_recomputation_too(capsys, simulated_study):
    expected = recompute(simulated_study, 15, include_simulated=True, completed_only=True, speeder_ms=2800)
    code, out, _ = run(capsys, "results", "--json", "--include-simulated", "--completed-only",
                       "--exclude-speeders", 2800)
    data = json.loads(out)
    assert code == 0 and data["participants"]["excluded_by"]["speeder"] > 0
    assert_json_matches(data, expected)


def test_simulated_participants_are_left_out_by_default_and_removed_in_one_step(capsys, simulated_study):
    code, out, _ = run(capsys, "results")
    assert code == 0 and "14 excluded (simulated 14" in out and "--include-simulated" in out
    code, out, _ = run(capsys, "results", "--include-simulated")
    assert "score out of 15: mean" in out and "t-test against chance" in out and "d' pooled" in out
    assert "test/REAL/" in out  # per-image lines name the image: this is the researcher's tool
    code, out, _ = run(capsys, "survey", "simulate", "--remove", "--json")
    assert code == 0 and json.loads(out)["participants_removed"] == 14
    code, out, _ = run(capsys, "results", "--json", "--include-simulated")
    assert json.loads(out)["participants"]["total"] == 0


def test_participants_and_database_exports(capsys, simulated_study, tmp_path):
    people = tmp_path / "people.csv"
    code, out, _ = run(capsys, "export", "participants", "--out", people)
    assert code == 0
    table = pd.read_csv(people)
    answers = pd.read_csv(simulated_study)
    assert len(table) == 14 and table["is_simulated"].eq(1).all()
    assert table.set_index("participant_id")["correct"].to_dict() == answers.groupby("participant_id")[
        "correct"].sum().to_dict()
    dictionary = pd.read_csv(tmp_path / "people.dictionary.csv")
    assert dictionary["column"].tolist() == list(table.columns)
    assert "Hautus" in dictionary.set_index("column").loc["dprime", "meaning"]
    assert "--- consent text" in (tmp_path / "people.txt").read_text()

    copy = tmp_path / "copy.db"
    code, out, _ = run(capsys, "export", "database", "--out", copy, "--json")
    assert code == 0 and json.loads(out)["bytes"] > 0
    with sqlite3.connect(copy) as conn:
        assert conn.execute("select count(*) from answer").fetchone()[0] == len(answers)


def test_bad_input_is_one_line_and_exit_2(capsys, monkeypatch):
    code, _, err = run(capsys, "results")
    assert code == 2 and err.startswith("error: there are no survey sets yet") and err.count("\n") == 1
    run(capsys, "survey", "create", "--size", 15, "--seed", 1)
    for argv, words in [
        (("results", "--set", 99), "no survey set with id 99"),
        (("results", "--run", 7), "run 7 is not a finished training run"),
        (("results", "--exclude-speeders", -5), "--exclude-speeders must be 0 or more"),
        (("survey", "simulate", "--participants", 0), "--participants must be between 1"),
        (("export", "answers", "--set", 42, "--out", "x.csv"), "no survey set with id 42"),
    ]:
        code, _, err = run(capsys, *argv)
        assert code == 2 and words in err and err.count("\n") == 1, (argv, err)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://me@db.example/study")
    code, _, err = run(capsys, "export", "database", "--out", "x.db")
    assert code == 2 and "pg_dump" in err
