"""The researcher's Results page (app_pages/results.py) through Streamlit's AppTest:
empty, with simulated participants, with a tiny trained model, with filters."""
from __future__ import annotations

import importlib.util

import pytest

from apptest_helpers import researcher_page, texts
from db import open_database
from study import survey
from study.config import ensure_home
from study.survey.simulate import simulate


def engine():
    return open_database(ensure_home().database_url)


def test_an_empty_database_explains_what_will_appear(study_home):
    at = researcher_page("results.py").run()
    assert not at.exception and not at.error
    assert "No survey set exists yet" in texts(at) and "survey simulate" in texts(at)
    assert not at.get("plotly_chart")


def test_a_set_without_answers_explains_what_will_appear(study_home):
    survey.ensure_open_set(engine())
    at = researcher_page("results.py").run()
    assert not at.exception
    assert "No answers to analyse yet" in texts(at)
    assert [m.value for m in at.metric] == ["0", "0", "0", "0"]


@pytest.fixture
def with_simulated(study_home):
    survey.ensure_open_set(engine())
    simulate(engine(), 10, seed=2, dropout=0.2)


def test_simulated_participants_are_marked_and_left_out_until_included(with_simulated):
    at = researcher_page("results.py").run()
    assert not at.exception
    assert "10 simulated participants" in texts(at) and "left out" in texts(at)
    assert {m.label: m.value for m in at.metric}["Excluded"] == "10"
    assert not at.get("plotly_chart")

    at.toggle(key="include_simulated").set_value(True).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Excluded"] == "0" and int(metrics["Completed"]) + int(metrics["Incomplete"]) == 10
    for label in ("Mean score (of 15)", "Median", "SD", "95% CI of the mean", "Accuracy on REAL images",
                  "Accuracy on FAKE images", "d′ (pooled)", "criterion c (pooled)"):
        assert label in metrics
    assert "included" in texts(at) and "Hautus" in texts(at) and "chance" in texts(at)
    charts = at.get("plotly_chart")
    assert len(charts) >= 4  # score histogram, humans' confusion matrix, response times x2
    table = next(d.value for d in at.dataframe if "share right" in d.value.columns)
    assert len(table) == 15 and table["image"].str.startswith("data:image/png;base64,").all()
    assert set(table["true label"]) == {"REAL", "FAKE"}
    people = next(d.value for d in at.dataframe if "simulated" in d.value.columns)
    assert (people["simulated"] == "SIMULATED").all()
    assert len(at.get("download_button")) == 5  # answers and participants with their dictionaries, database


def test_filters_change_who_counts(with_simulated):
    at = researcher_page("results.py").run()
    at.toggle(key="include_simulated").set_value(True).run()
    at.number_input(key="speeder_ms").set_value(600_000).run()  # everyone is "faster" than 10 minutes
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Excluded"] == "10" and "No answers to analyse" in texts(at)
    at.number_input(key="speeder_ms").set_value(0).run()
    options = at.multiselect(key="age_bands").options
    at.multiselect(key="age_bands").select(options[0]).run()
    assert not at.exception
    excluded = int({m.label: m.value for m in at.metric}["Excluded"])
    assert 0 < excluded < 10


@pytest.mark.skipif(importlib.util.find_spec("study.ml.training") is None, reason="no training module")
def test_a_trained_model_is_compared_with_the_humans_on_the_same_images(with_simulated):
    from study.data.active import dataset_by_source
    from study.ml.training import TrainConfig, run_training

    run = run_training(TrainConfig(model="logreg", epochs=1, batch_size=50, lr=1e-3, device="cpu", max_train=200,
                                   num_threads=1), dataset_by_source("demo"), engine=engine())
    key = f"run {run['run_id']} logreg"
    at = researcher_page("results.py").run()
    at.toggle(key="include_simulated").set_value(True).run()
    assert not at.exception and not at.error
    assert at.multiselect(key="models").value == [key]  # the newest finished run is chosen by default
    table = next(d.value for d in at.dataframe if "share right" in d.value.columns)
    assert table[f"P(AI) {key}"].between(0, 1).all()
    assert set(table[f"agrees with majority {key}"]) <= {"yes", "no", "no majority"}
    assert any(m.label == f"κ {key} vs human majority" for m in at.metric)
    assert len(at.get("plotly_chart")) >= 6  # + the model's confusion matrix and the humans-vs-model scatter
    assert "Cohen's kappa" in texts(at) and "tied images left out" in texts(at)


def test_a_survey_on_an_image_set_shows_its_groups_with_the_models_accuracy_on_each(finished_run, tmp_path):
    import numpy as np
    from PIL import Image

    from study.data.image_sets import pool
    from study.data.imports import import_images

    rng = np.random.default_rng(1)
    for folder in ("real/street", "fake/street", "real/tiny", "fake/tiny"):
        (tmp_path / "own" / folder).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).save(tmp_path / "own" / folder / f"{i}.png")
    engine, run_id = finished_run
    import_images(engine, tmp_path / "own", "own")
    survey.create_set(engine, pool(engine, "set:own"), size=8, seed=1)
    simulate(engine, 4, seed=2)
    at = researcher_page("results.py").run()
    at.toggle(key="include_simulated").set_value(True).run()
    assert not at.exception and not at.error
    assert "By generator and category" in [h.value for h in at.header]
    assert at.multiselect(key="models").value == [f"run {run_id} lenet"]  # the model sees these 40x30 pictures
    [table] = [d for d in at.dataframe if "category" in d.value.columns]
    assert list(table.value["category"]) == ["street", "tiny"]
    assert table.value[f"run {run_id} lenet accuracy"].between(0, 100).all()
