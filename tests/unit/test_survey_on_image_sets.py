"""A survey drawn from a researcher's own image set (issue #15): each picture shown
as the exact bytes stored at import, at its own size and never enlarged beyond the
set's cap, thumbnails the same, a draw spread over categories, and what does not
apply refused with a clear message. Models on such sets: test_models_on_any_size.py."""
from __future__ import annotations

import io
from collections import Counter

import numpy as np
import pytest
from PIL import Image

import db.survey as q
from db import open_database
from study import survey
from study.config import get_settings
from study.data import active
from study.data.image_sets import pool
from study.data.imports import import_images, read_stored
from study.errors import StudyError


@pytest.fixture
def engine(study_home, backend):
    return open_database(get_settings().database_url)


@pytest.fixture
def image_set(engine, tmp_path):
    """REAL and FAKE, in two categories each: 'street' (many, 300x200) and 'tiny' (few, 40x40)."""
    rng = np.random.default_rng(5)
    for label in ("real", "fake"):
        for category, n, (w, h) in (("street", 6, (300, 200)), ("tiny", 2, (40, 40))):
            folder = tmp_path / "own" / label / category
            folder.mkdir(parents=True)
            for i in range(n):
                Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(folder / f"{i}.jpg", quality=90)
    import_images(engine, tmp_path / "own", "own")
    return pool(engine, "set:own")


def person(engine):
    step = survey.current_step(engine, survey.Visit(), ())
    token = survey.consent(engine, survey.Visit(), token=step.pending_token, consent_hash=step.survey.consent_hash)
    survey.answer_questions(engine, token, None, None)
    survey.begin(engine, token)
    return token


def test_each_picture_is_the_stored_bytes_at_its_own_size_and_enlarged_no_more_than_the_cap(engine, image_set):
    info = survey.create_set(engine, image_set, size=16, seed=1, max_enlarge=4)
    assert (info.source, info.split, info.max_enlarge) == ("set:own", "all", 4)
    token = person(engine)
    order = q.participant_by_token(engine, token).image_order
    seen = {}
    while (step := survey.current_step(engine, survey.Visit(token=token))).stage == "image":
        image_id = order[step.position - 1]
        assert step.image_png == read_stored(image_id)  # byte for byte what the import froze
        width = Image.open(io.BytesIO(step.image_png)).size[0]
        seen[width] = (step.display_width, step.crisp)
        survey.submit_answer(engine, token, step.position, 0)
    assert seen == {300: (300, False), 40: (160, True)}  # 300 px as it is; 40 px enlarged 4x, crisp
    assert step.stage == "done"
    for item, image_id in zip(step.results, order):
        assert item.thumbnail_png == read_stored(image_id, thumb=True) and item.width <= 256


def test_the_draw_spreads_each_label_over_the_categories(engine, image_set):
    info = survey.create_set(engine, image_set, size=4, seed=2, balance_by="category")
    rows = q.set_images(engine, info.id)
    categories = dict(zip(image_set.ids, image_set.categories))
    assert Counter((r.label, categories[r.image_id]) for r in rows) == {
        (0, "street"): 1, (0, "tiny"): 1, (1, "street"): 1, (1, "tiny"): 1}  # 2 of 8 per label are tiny
    assert survey.summary(engine, info.id).balance_by == "category"


def test_what_does_not_apply_is_refused_clearly(engine, image_set):
    with pytest.raises(StudyError, match="--max-enlarge is for image sets"):
        survey.create_set(engine, active.dataset_by_source("demo"), size=4, seed=1, max_enlarge=2)
    with pytest.raises(StudyError, match="--max-enlarge must be between 1 and 16"):
        survey.create_set(engine, image_set, size=4, seed=1, max_enlarge=40)
    with pytest.raises(StudyError, match="--balance-by needs an image set"):
        survey.create_set(engine, active.dataset_by_source("demo"), size=4, seed=1, balance_by="category")
    with pytest.raises(StudyError, match="there is no image set 'nope'; image sets: own"):
        pool(engine, "set:nope")


def test_results_per_category_recomputed_and_the_results_page_works(engine, image_set, capsys):
    """Per category: accuracy, and d' (log-linear) recomputed from the answers."""
    import json

    from scipy.stats import norm

    from helpers import run_cli
    from study.analysis import Inclusion, analyse, set_thumbnails
    from study.survey.simulate import simulate

    info = survey.create_set(engine, image_set, size=8, seed=2, balance_by="category")
    simulate(engine, 6, seed=4)
    code, out, _ = run_cli(capsys, "results", "--json", "--include-simulated")
    data = json.loads(out)
    assert code == 0 and set(data["by_category"]) == {"street", "tiny"} and "by_generator" not in data
    answers = analyse(engine, info.id, Inclusion(include_simulated=True)).answers
    categories = dict(zip(image_set.ids, image_set.categories))
    for name, figures in data["by_category"].items():
        rows = answers[answers["image_id"].map(categories) == name]
        assert figures["n_answers"] == len(rows) and figures["accuracy"] == pytest.approx(rows["correct"].mean())
        fake, real = rows[rows["label"] == 1], rows[rows["label"] == 0]
        hit = (fake["answer"].eq(1).sum() + 0.5) / (len(fake) + 1)
        false_alarm = (real["answer"].eq(1).sum() + 0.5) / (len(real) + 1)
        assert figures["dprime"] == pytest.approx(norm.ppf(hit) - norm.ppf(false_alarm))
    thumbs = set_thumbnails(engine, info.id)
    assert len(thumbs) == 8 and all(t.startswith("data:image/png;base64,") for t in thumbs)
