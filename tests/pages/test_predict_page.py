"""The Live predictions page: an upload, a dataset image and a survey image in
front of a trained checkpoint, bad uploads, and the hint when no model exists.
The page is run directly (streamlit_app.py adds it to the researcher navigation)."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest
from apptest_helpers import researcher_page



def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def page(query: dict | None = None) -> AppTest:
    at = researcher_page("predict.py", timeout=120)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def test_without_a_finished_run_the_page_says_how_to_train_one():
    at = page()
    assert not at.exception
    assert any("python -m study train --model lenet --data demo --epochs 3" in i.value for i in at.info)


def test_an_upload_is_converted_shown_and_explained(finished_run):
    at = page()
    at.radio[0].set_value("Upload").run()
    assert not at.exception
    rng = np.random.default_rng(0)
    at.file_uploader[0].set_value(("holiday.png", png(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)),
                                   "image/png")).run()
    assert not at.exception and not at.error
    text = " ".join(m.value for m in at.markdown)
    assert "Read as:" in text and "PNG 64x48 RGB" in text
    assert "P(AI-generated) =" in text and "right" not in text  # no true label for an upload
    captions = " ".join(c.value for c in at.caption)
    assert "centre square (48x48 of 64x48" in captions and "resized to 32x32" in captions
    assert len(at.image) >= 2  # the picture and the CAM overlay over all of it

    at.slider[0].set_value(0.9).run()  # the opacity slider redraws without errors
    assert not at.exception and not at.error


@pytest.mark.parametrize("content", [b"not an image", png(np.zeros((8, 8, 3), np.uint8))[:30]])
def test_a_bad_upload_gets_one_clear_message(finished_run, content):
    at = page()
    at.radio[0].set_value("Upload").run()
    at.file_uploader[0].set_value(("bad.png", content, "image/png")).run()
    assert not at.exception
    assert len(at.error) == 1 and "bad.png" in at.error[0].value


def test_a_dataset_image_shows_right_or_wrong_and_every_method(finished_run):
    at = page()
    assert not at.exception
    at.radio[0].set_value("Dataset image").run()  # the demo pool, since CIFAKE is not prepared here
    assert not at.exception and not at.error
    text = " ".join(m.value for m in at.markdown)
    assert "P(AI-generated) =" in text and ("right" in text or "wrong" in text)
    method = next(s for s in at.selectbox if s.label == "CAM method")
    for name in method.options:
        method.set_value(name).run()
        assert not at.exception and not at.error
    explain = next(s for s in at.selectbox if s.label == "Explain")
    explain.set_value("REAL").run()
    assert not at.exception and any("for REAL" in c.value for c in at.caption)


def test_a_survey_image_shows_what_the_humans_said(finished_run):
    engine, _ = finished_run
    from study import survey
    from study.survey.simulate import simulate

    survey_set = survey.ensure_open_set(engine)
    simulate(engine, participants=6, seed=1)
    at = page({"set": str(survey_set.id), "image": "2"})
    assert not at.exception and not at.error
    assert any("What the humans said" in m.value for m in at.markdown)
    box = next(c for c in at.checkbox if "simulated" in c.label)
    box.check().run()
    labels = {m.label: m.value for m in at.metric}
    assert labels["Answers"] == "6" and labels["Said AI-generated"].endswith("%")
    assert "position 2" in " ".join(c.value for c in at.caption)


def test_a_dataset_id_in_the_url_opens_that_image(finished_run):
    from study.data.demo import demo_pool

    image_id = str(demo_pool().ids[3])
    at = page({"id": image_id})
    assert not at.exception and not at.error
    assert any(image_id in c.value for c in at.caption)


def test_a_run_in_the_url_is_the_model_compared(finished_run):
    engine, first_run = finished_run
    from db.runs import create_run, finish_run

    newer = create_run(engine, "lenet", {"model": "lenet"}, dataset_source="demo")
    finish_run(engine, newer, "finished", metrics={}, checkpoint_path=get_run_path(engine, first_run))
    assert page().multiselect[0].value == [f"run {newer} lenet"]  # no link: the newest run
    at = page({"run": str(first_run)})
    assert not at.exception and not [w for w in at.warning if "link" in w.value]
    assert at.multiselect[0].value == [f"run {first_run} lenet"]
    assert "P(AI-generated) =" in " ".join(m.value for m in at.markdown)

    at = page({"run": "999"})  # no such run: one clear line, and the newest instead
    assert not at.exception and at.multiselect[0].value == [f"run {newer} lenet"]
    [note] = [w.value for w in at.warning if "link" in w.value]
    assert "run 999" in note and f"showing run {newer} lenet" in note


def test_a_survey_image_in_the_url_is_the_image_shown(finished_run):
    engine, _ = finished_run
    from study import analysis, survey

    survey_set = survey.ensure_open_set(engine)
    image_id = analysis.load_images(engine, survey_set.id).set_index("pool_position").loc[4, "image_id"]
    at = page({"set": str(survey_set.id), "image": "4"})
    assert not at.exception and not at.warning
    assert at.radio[0].value == "Survey set image"
    assert at.selectbox[0].value == survey_set.id and at.selectbox[1].value == 4
    assert image_id in " ".join(c.value for c in at.caption)
    at = page({"set": str(survey_set.id), "image": "4000"})
    assert len(at.warning) == 1 and "no image position 4000" in at.warning[0].value


def get_run_path(engine, run_id: int) -> str:
    from db.runs import get_run

    return get_run(engine, run_id)["checkpoint_path"]


def test_a_picture_of_an_imported_image_set_is_explained_at_its_own_size(finished_run, tmp_path):
    """A survey set drawn from an image set: its 300x200 pictures go to the model as
    their centre square at the model's side, and the page says so."""
    engine, _ = finished_run
    from study import survey
    from study.data.image_sets import pool
    from study.data.imports import import_images

    rng = np.random.default_rng(3)
    for label in ("real", "fake"):
        folder = tmp_path / "own" / label
        folder.mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 256, (200, 300, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    import_images(engine, tmp_path / "own", "own")
    info = survey.create_set(engine, pool(engine, "set:own"), size=4, seed=1)
    at = page({"set": str(info.id), "image": "1"})
    assert not at.exception and not at.error
    captions = " ".join(c.value for c in at.caption)
    assert "centre square (200x200 of 300x200" in captions and "resized to 32x32" in captions
    assert any("P(AI-generated) =" in m.value for m in at.markdown) and len(at.image) >= 2
