"""The Results page's "Conditions" section (issue 14) through AppTest: the table
shows the same figures as `results --json`'s by_condition, with "not enough
data" where fewer than two participants stand behind a figure; the charts are
drawn; researchers' previews never count; a set of one plain condition has no
such section."""
from __future__ import annotations

import json

import pytest

from apptest_helpers import researcher_page, texts
from helpers import run_cli as run
from study import survey
from study.survey.simulate import simulate


@pytest.fixture
def hinted_set(capsys, finished_run):
    engine, run_id = finished_run
    code, out, err = run(capsys, "survey", "create", "--size", 15, "--seed", 3, "--conditions",
                         "control,model,model_cam", "--hint-run", run_id, "--hint-timing", "after_first", "--json")
    assert code == 0, err
    set_id = json.loads(out)["id"]
    simulate(engine, 12, seed=4, dropout=0.2)
    token = survey.start_preview(engine, set_id, "model_cam")  # a researcher's try: never counted
    survey.answer_questions(engine, token, None, None)
    survey.begin(engine, token)
    step = survey.current_step(engine, survey.Visit(token=token))
    survey.submit_first_answer(engine, token, step.position, 0)
    survey.submit_answer(engine, token, step.position, 0, 5)
    return engine, set_id


def table_of(at):
    return next(d.value for d in at.dataframe if "shows" in d.value.columns).set_index("condition")


def chart_titles(at) -> list[str]:
    return [json.loads(chart.proto.spec)["layout"]["title"]["text"] for chart in at.get("plotly_chart")]


def test_the_conditions_section_shows_the_figures_of_results_json(capsys, hinted_set):
    code, out, _ = run(capsys, "results", "--json", "--include-simulated")
    data = json.loads(out)["by_condition"]
    assert code == 0 and data["comparison"]["chi_square"]["statistic"] is not None

    at = researcher_page("results.py", timeout=90).run()
    at.toggle(key="include_simulated").set_value(True).run()
    assert not at.exception
    assert "Conditions" in [s.value for s in at.subheader]
    table = table_of(at)
    assert list(table.index) == ["control", "model", "model_cam"]
    for c in data["conditions"]:
        row = table.loc[c["name"]]
        assert (row["participants"], row["completed"], row["answers"]) == (c["n"], c["n_completed"], c["n_answers"])
        assert row["accuracy"] == f"{100 * c['accuracy']:.1f}%"
        assert row["mean score"] == f"{c['score']['mean']:.2f}"
        assert row["95% CI"] == f"[{c['score']['ci_low']:.2f}, {c['score']['ci_high']:.2f}]"
        assert row["d′ (pooled)"] == f"{c['sdt']['pooled']['dprime']:.3f}"
    assert sum(table["participants"]) == 12  # the preview is not among them
    reliance = next(d.value for d in at.dataframe if "figure" in d.value.columns)
    assert set(reliance["condition"]) == {"model", "model_cam"}
    right = reliance[(reliance["condition"] == "model")
                     & (reliance["figure"] == "agreed with the model when it was right")].iloc[0]
    figure = data["conditions"][1]["reliance"]["agreement_model_right"]
    assert right["share"] == f"{100 * figure['share']:.1f}%" and right["answers"] == figure["n_answers"]
    wald = data["comparison"]["logistic"]["wald"]
    assert f"Joint Wald test: χ²({wald['df']}) = {wald['statistic']:.3f}" in texts(at)
    titles = chart_titles(at)
    for title in ("Accuracy per condition (completed participants, 95% CI)",
                  "Reliance on the model (share of answers; n = answers)",
                  "Calibration: accuracy at each confidence level"):
        assert title in titles


def test_without_enough_participants_the_page_says_so_and_previews_never_count(hinted_set):
    at = researcher_page("results.py", timeout=90).run()  # simulated left out: only the preview is left
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Excluded"] == "13"
    assert "No answers to analyse yet" in texts(at) and "Conditions" not in [s.value for s in at.subheader]

    engine, set_id = hinted_set
    from study.analysis import Inclusion, analyse

    result = analyse(engine, set_id, Inclusion(include_simulated=True))
    assert result.counts["excluded_by"]["preview"] == 1
    assert 1 not in set(result.answers["is_preview"])


def test_not_enough_data_is_written_out_in_the_table(capsys, finished_run):
    engine, run_id = finished_run
    code, _, err = run(capsys, "survey", "create", "--size", 15, "--seed", 3, "--conditions", "control,model",
                       "--hint-run", run_id)
    assert code == 0, err
    simulate(engine, 3, seed=1)  # two in one condition, one in the other
    at = researcher_page("results.py", timeout=90).run()
    at.toggle(key="include_simulated").set_value(True).run()
    assert not at.exception
    table = table_of(at)
    lonely = table[table["participants"] == 1].iloc[0]
    assert lonely["accuracy"] == lonely["mean score"] == lonely["d′ (pooled)"] == "not enough data"
    assert "Not enough data: a comparison needs two conditions" in texts(at)
    assert "not enough data (n = 1)" in json.dumps([json.loads(c.proto.spec) for c in at.get("plotly_chart")])


def test_a_set_of_one_plain_condition_has_no_conditions_section(study_home):
    from db import open_database
    from study.config import ensure_home

    engine = open_database(ensure_home().database_url)
    survey.ensure_open_set(engine)
    simulate(engine, 3, seed=1)
    at = researcher_page("results.py", timeout=90).run()
    at.toggle(key="include_simulated").set_value(True).run()
    assert not at.exception and "Conditions" not in [s.value for s in at.subheader]
