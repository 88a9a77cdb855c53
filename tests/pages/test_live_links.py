"""Researcher links into Live predictions stay in the tab: they go through the
app's own navigation (st.page_link), so the login held in the tab's Streamlit
session goes along, where a markdown link or a LinkColumn opens a new tab at
the participants' consent form. Followed, they show the run or image they name."""
from __future__ import annotations

from urllib.parse import parse_qs

from streamlit.testing.v1 import AppTest

from apptest_helpers import researcher_app


def live_link(at: AppTest):
    [link] = at.get("page_link")
    assert link.proto.page == "predict" and not link.proto.external  # a page of this app, in this tab
    return link


def follow(at: AppTest, link) -> AppTest:
    """What a click on the link does: the Live predictions page, with the link's query."""
    for key, values in parse_qs(link.proto.query_string).items():
        at.query_params[key] = values[0]
    return at.switch_page("app_pages/predict.py").run()


def assert_no_new_tab_links(at: AppTest) -> None:
    assert not [m.value for m in at.markdown if "/predict?" in m.value]
    assert not [d for d in at.dataframe if '"link"' in d.proto.columns]  # no LinkColumn


def test_a_finished_run_opens_in_live_predictions_in_the_same_tab(finished_run):
    _engine, run_id = finished_run
    at = researcher_app("app_pages/training.py")
    assert not at.exception and [t.value for t in at.title] == ["Training"]
    assert_no_new_tab_links(at)
    link = live_link(at)
    assert parse_qs(link.proto.query_string) == {"run": [str(run_id)]}
    at = follow(at, link)
    assert not at.exception and [t.value for t in at.title] == ["Live predictions"]
    assert at.multiselect[0].value == [f"run {run_id} lenet"]


def test_a_results_row_opens_its_image_in_live_predictions_in_the_same_tab(finished_run):
    engine, _ = finished_run
    from study import analysis, survey
    from study.survey.simulate import simulate

    survey_set = survey.ensure_open_set(engine)
    simulate(engine, participants=3, seed=1)
    images = analysis.load_images(engine, survey_set.id)
    at = researcher_app("app_pages/results.py")
    at.toggle(key="include_simulated").set_value(True).run()
    assert not at.exception and [t.value for t in at.title] == ["Results"]
    assert_no_new_tab_links(at)
    assert not at.get("page_link")  # until a row is selected

    at.session_state["images-table"] = {"selection": {"rows": [2], "columns": [], "cells": []}}
    at.run()
    link = live_link(at)
    position = int(images["pool_position"].iloc[2])
    assert parse_qs(link.proto.query_string) == {"set": [str(survey_set.id)], "image": [str(position)]}
    assert images["image_id"].iloc[2] in link.value
    at = follow(at, link)
    assert not at.exception and [t.value for t in at.title] == ["Live predictions"]
    assert at.radio[0].value == "Survey set image"
    assert f"set {survey_set.id}, position {position}" in " ".join(c.value for c in at.caption)
