"""The fast detector on the pages: the Training form leaves what is not filled
in to the model's recipe, and the robustness report is drawn with the other
reproduction reports, one chart per perturbation."""
from __future__ import annotations

import pytest
from apptest_helpers import researcher_page, texts

from study import jobs
from study.cli import main

pytestmark = pytest.mark.usefixtures("no_leftover_jobs")


def test_empty_training_fields_take_the_models_recipe(study_home, monkeypatch):
    monkeypatch.setattr(jobs, "start_worker_process", lambda device: 0)  # queue only
    at = researcher_page("training.py").run()
    at.selectbox(key="train-model").set_value("cifake_resnet")
    at.selectbox(key="train-data").set_value("demo")
    at.selectbox(key="train-device").set_value("cpu")
    at.selectbox(key="train-augment").set_value("robust")
    at.button[0].click().run()
    assert not at.exception and "queued" in texts(at)
    job = jobs.list_jobs()[0]
    assert job["params"]["augment"] == "robust"
    assert not {"epochs", "batch_size", "lr", "val_split"} & set(job["params"])  # the recipe decides
    argv = jobs.train_argv(job["params"], "cpu")
    assert "--epochs" not in argv and argv[argv.index("--augment") + 1] == "robust"


def test_a_robustness_report_shows_a_chart_per_perturbation(study_home):
    from study.config import ensure_home

    assert main(["reproduce", "--table", "robustness", "--quick", "--data", "demo", "--max-test", "100",
                 "--threads", "1", "--out", str(ensure_home().reports_dir / "cli-robustness")]) == 0
    at = researcher_page("experiments.py").run()
    assert not at.exception
    shown = texts(at)
    for title in ("Robustness: the models on clean test images", "JPEG re-compression", "Gaussian blur",
                  "Gaussian noise", "Down-then-up scaling"):
        assert title in shown
    assert len(at.get("plotly_chart")) == 4
