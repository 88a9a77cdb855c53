"""The researcher's Survey sets page (app_pages/survey_admin.py) through Streamlit's AppTest:
creating sets (with conditions and the run that gives the hints), each set's
conditions, and a preview of one condition that opens the survey in the same tab."""
from urllib.parse import parse_qs

from sqlalchemy import select

from apptest_helpers import researcher_app, researcher_page, texts
from db import open_database
from db.schema import Participant
from study import survey
from study.config import get_settings
from study.data import active


def survey_engine():
    return open_database(get_settings().database_url)


def button(at, label):
    return next(b for b in at.button if b.label == label)


def conditions_rows(at, index=0):
    return at.dataframe[index].value.to_dict("records")


def test_the_survey_sets_page_creates_a_set_from_the_demo_pool(study_home):
    at = researcher_page("survey_admin.py", timeout=30).run()
    assert not at.exception
    button(at, "Create set").click()
    at.run()
    assert not at.error and [m.value for m in at.metric] == ["0", "0", "0", "0"]
    assert "demo — synthetic images, not CIFAKE" in texts(at)
    assert [(r["condition"], r["counted participants"], r["previews"]) for r in conditions_rows(at)] == \
        [("control", 0, 0)]


def test_a_double_click_on_create_makes_one_set(study_home):
    at = researcher_page("survey_admin.py", timeout=30).run()
    for widget in (*at.multiselect, *at.number_input, *at.selectbox, *at.checkbox, *at.radio):
        if not widget.disabled:
            widget.set_value(widget.value)  # the page as the browser holds it, whatever the server does next
    create = button(at, "Create set")
    create.click().run()
    create.click().run()  # the second half of the double click: the button as the first click saw it
    assert not at.exception
    assert len(survey.all_summaries(survey_engine())) == 1


def test_a_set_with_control_and_model_cam_takes_its_hints_from_the_chosen_run(finished_run):
    engine, run_id = finished_run
    at = researcher_page("survey_admin.py", timeout=120).run()
    assert "Hints from the training run" not in [s.label for s in at.selectbox]  # only for hinted conditions
    at.multiselect(key="create-conditions").set_value(["control", "model_cam"]).run()
    picker = at.selectbox(key="create-hint-run")
    assert picker.value == run_id and f"run {run_id} · lenet on demo" in picker.format_func(run_id)
    at.radio(key="create-hint-timing").set_value("after_first")
    next(n for n in at.number_input if n.label == "Images per participant").set_value(6)
    at.run()
    assert "- **model_cam**: the model's verdict and its Grad-CAM map after a first answer" in texts(at)
    button(at, "Create set").click().run()
    assert not at.exception and not at.error, texts(at)

    [created] = survey.all_summaries(engine)
    assert created.status == "open" and created.hint_run_id == run_id
    assert [(c["name"], c["hint_timing"]) for c in created.conditions] == \
        [("control", "before"), ("model_cam", "after_first")]
    rows = conditions_rows(at)  # the open set's table
    assert [r["condition"] for r in rows] == ["control", "model_cam"]
    assert rows[1]["what it shows"] == created.conditions[1]["shows"]
    assert [(r["counted participants"], r["previews"]) for r in rows] == [(0, 0), (0, 0)]
    assert f"hints from training run {run_id}" in texts(at)
    [listed] = conditions_rows(at, 1)  # All sets
    assert (listed["id"], listed["conditions"], listed["hint_run_id"]) == (created.id, "control, model_cam", run_id)
    assert [b.label for b in at.button if b.label.startswith("Preview")] == ["Preview control", "Preview model_cam"]


def test_without_a_finished_run_a_hinted_condition_is_refused_and_nothing_is_created(study_home):
    at = researcher_page("survey_admin.py", timeout=30).run()
    at.multiselect(key="create-conditions").set_value(["control", "model"]).run()
    assert at.warning and "No finished training run with a checkpoint exists yet" in at.warning[0].value
    assert "python -m study train" in at.warning[0].value
    button(at, "Create set").click().run()
    assert not at.exception
    assert len(at.error) == 1 and at.error[0].value.startswith("Not created: model shows a trained model's verdict")
    assert "Training page" in at.error[0].value
    assert survey.all_summaries(survey_engine()) == []


def test_a_preview_opens_the_survey_in_this_tab_as_a_marked_participant_of_that_condition(finished_run):
    engine, run_id = finished_run
    survey_set = survey.create_set(engine, active.dataset_by_source("demo"), size=4, seed=1,
                                   conditions=survey.parse_conditions("control,model_cam"), hint_run_id=run_id)
    at = researcher_app("app_pages/survey_admin.py")
    assert not at.exception and not at.get("page_link")
    button(at, "Preview model_cam").click().run()
    assert not at.exception and not at.error, texts(at)

    [link] = at.get("page_link")
    assert link.proto.page == "" and not link.proto.external  # the survey (the default page), this tab
    assert link.proto.label == "Open the model_cam preview in this tab"
    [token] = parse_qs(link.proto.query_string)["p"]
    with engine.connect() as conn:
        participant = conn.execute(select(Participant).where(Participant.token == token)).one()
    assert participant.is_preview and participant.set_id == survey_set.id
    names = {condition_id: condition.name for condition_id, condition in survey.set_conditions(engine, survey_set.id)}
    assert names[participant.condition_id] == "model_cam"
    assert [(r["condition"], r["counted participants"], r["previews"]) for r in conditions_rows(at)] == \
        [("control", 0, 0), ("model_cam", 0, 1)]

    at.query_params["p"] = token  # what a click on the link does
    at = at.switch_page("app_pages/survey.py").run()
    assert not at.exception and not at.error, texts(at)


def test_a_draft_set_is_previewed_before_it_opens(finished_run):
    engine, run_id = finished_run
    draft = survey.create_set(engine, active.dataset_by_source("demo"), size=4, seed=2, open_now=False,
                              conditions=survey.parse_conditions("control,model"), hint_run_id=run_id)
    at = researcher_app("app_pages/survey_admin.py")
    assert "No set is open" in texts(at)
    button(at, "Preview model").click().run()
    assert not at.exception and not at.error, texts(at)
    [link] = at.get("page_link")
    [token] = parse_qs(link.proto.query_string)["p"]
    with engine.connect() as conn:
        participant = conn.execute(select(Participant).where(Participant.token == token)).one()
    assert participant.is_preview and participant.set_id == draft.id
    assert survey.summary(engine, draft.id).status == "draft"


def test_the_form_sets_display_time_attention_checks_and_the_pre_registered_exclusions(study_home):
    at = researcher_page("survey_admin.py", timeout=30).run()
    at.number_input(key="create-display").set_value(1.5)
    at.number_input(key="create-checks").set_value(2)
    at.run()
    at.checkbox(key="create-excl-checks").check()
    at.number_input(key="create-excl-speed").set_value(700)
    at.run()
    assert "image hidden after 1500 ms" in texts(at)
    next(b for b in at.button if b.label == "Create set").click()
    at.run()
    assert not at.exception and not at.error
    info = survey.open_summary(open_database(get_settings().database_url))
    assert info.attention_checks == 2 and info.conditions[0]["display_ms"] == 1500
    assert info.exclusion_rules == {"failed_checks": True, "speeder_ms": 700, "incomplete": False}


def test_a_display_time_too_short_is_refused_before_anything_is_made(study_home):
    at = researcher_page("survey_admin.py", timeout=30).run()
    at.number_input(key="create-display").set_value(0.05)
    at.run()
    assert "--display-ms must be between 100 and 60000" in at.error[0].value
    assert next(b for b in at.button if b.label == "Create set").disabled


def test_a_set_is_drawn_from_an_imported_image_set_with_its_enlargement_cap_and_balance(study_home, tmp_path):
    import numpy as np
    from PIL import Image

    from study.data.imports import import_images

    rng = np.random.default_rng(2)
    for label in ("real", "fake"):
        for category in ("street", "portrait"):
            folder = tmp_path / "own" / label / category
            folder.mkdir(parents=True)
            for i in range(3):
                Image.fromarray(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    import_images(survey_engine(), tmp_path / "own", "own")
    at = researcher_page("survey_admin.py", timeout=60).run()
    assert "Split" in [s.label for s in at.selectbox]  # the active dataset has splits; an image set has none
    source = at.selectbox(key="create-source")
    assert source.format_func("set:own").startswith("image set own (12 pictures")
    source.set_value("set:own").run()
    assert "Split" not in [s.label for s in at.selectbox]
    at.number_input(key="create-max-enlarge").set_value(4)
    at.radio(key="create-balance-by").set_value("category")
    next(n for n in at.number_input if n.label == "Images per participant").set_value(8)
    at.run()
    button(at, "Create set").click().run()
    assert not at.exception and not at.error, texts(at)
    [created] = survey.all_summaries(survey_engine())
    assert (created.source, created.split, created.max_enlarge, created.balance_by) == ("set:own", "all", 4, "category")
