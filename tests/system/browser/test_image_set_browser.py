"""A survey on a researcher's own image set in a real browser (issue #15): each
picture arrives as the exact PNG stored at import, is drawn at its own size (a
small one enlarged no more than the set allows), and the page never carries a
file name, a content hash or a label; with a model_cam hint the model's frozen
map over the whole picture is shown at the picture's own width, below it when the
two would not fit side by side."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest
from PIL import Image

from browser_steps import LOOK_S, answer_button, participant, served_image, to_first_image
from db import open_database
from study import survey
from study.config import get_settings
from study.data.image_sets import pool
from study.data.imports import import_images, read_stored

pytestmark = pytest.mark.browser


def test_a_survey_on_an_image_set_shows_each_picture_as_stored_at_its_own_size(
        server_on_this_home, new_person, tmp_path):
    rng = np.random.default_rng(2)
    sizes = {"real/street": (320, 240), "fake/portraits": (48, 48)}
    for folder, (w, h) in sizes.items():
        (tmp_path / "own" / folder).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(
                tmp_path / "own" / folder / f"secret-name-{i}.png")
    engine = open_database(get_settings().database_url)
    import_images(engine, tmp_path / "own", "own")
    survey.create_set(engine, pool(engine, "set:own"), size=4, seed=3, max_enlarge=3)
    server = server_on_this_home.start()
    page = new_person()
    token = to_first_image(page, server, size=4)
    order = participant(server, token).image_order
    order = json.loads(order) if isinstance(order, str) else order
    shown = {}
    for k in range(1, 5):
        page.get_by_text(f"Image {k} of 4", exact=True).wait_for()
        kind, body = served_image(page)
        assert kind == "image/png" and body == read_stored(order[k - 1])  # the stored bytes, exactly
        image = page.locator('[data-testid="stImage"] img').first
        natural = image.evaluate("img => img.naturalWidth")
        drawn = round(image.bounding_box()["width"])
        shown[natural] = drawn
        html = page.content()
        assert "secret-name" not in html and order[k - 1] not in html  # no file name, no content hash
        time.sleep(LOOK_S)
        answer_button(page, k).click()
    page.get_by_text("You got").wait_for()
    assert shown == {320: 320, 48: 144}  # its own size; the 48 px one enlarged 3x, no more


def test_a_model_cam_hint_on_an_image_set_is_the_frozen_map_over_the_whole_picture_at_its_width(
        server_on_this_home, finished_run, new_person, tmp_path):
    from sqlalchemy import text

    engine, run_id = finished_run
    rng = np.random.default_rng(4)
    for label in ("real", "fake"):
        (tmp_path / "own" / label).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)).save(
                tmp_path / "own" / label / f"{i}.png")  # wider than half the column: the map goes below
    import_images(engine, tmp_path / "own", "own")
    survey.create_set(engine, pool(engine, "set:own"), size=2, seed=1,
                      conditions=survey.parse_conditions("model_cam"), hint_run_id=run_id)
    server = server_on_this_home.start()
    page = new_person()
    token = to_first_image(page, server, size=2)
    order = participant(server, token).image_order
    order = json.loads(order) if isinstance(order, str) else order
    for k in range(1, 3):
        page.get_by_text(f"Image {k} of 2", exact=True).wait_for()
        answer_button(page, k).wait_for(state="visible")
        with engine.connect() as conn:
            frozen = conn.execute(text("SELECT cam_png FROM model_hint WHERE image_id = :i"), {"i": order[k - 1]}).scalar()
        kind, body = served_image(page, '[data-testid="stImage"] img >> nth=1')
        assert kind == "image/png" and body == bytes(frozen)  # the map frozen with the set, byte for byte
        picture, evidence = (page.locator('[data-testid="stImage"] img').nth(i) for i in (0, 1))
        assert evidence.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [640, 480]  # the whole picture
        seen, shown = picture.bounding_box(), evidence.bounding_box()
        assert round(shown["width"]) == round(seen["width"]) == 640
        assert shown["y"] >= seen["y"] + seen["height"]  # below the picture, never over it
        time.sleep(LOOK_S)
        answer_button(page, k).click()
    page.get_by_text("You got").wait_for()
