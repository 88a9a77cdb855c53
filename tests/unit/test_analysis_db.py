"""analyse() on a real database (SQLite and PostgreSQL): participants answering
through the survey's own functions, simulated ones added and removed."""
from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select

import db.survey as q
from db import open_database
from study import analysis, survey
from study.data.active import dataset_by_source
from study.config import ensure_home
from study.survey.simulate import remove_simulated, simulate


def engine():
    return open_database(ensure_home().database_url)


def take_survey(eng, always_right: bool, answers: int | None = None, age_band=None) -> int:
    """A participant through consent -> questions -> begin -> each image, as the page does."""
    token = survey.consent(eng, survey.Visit())
    survey.answer_questions(eng, token, age_band, None)
    survey.begin(eng, token)
    person = q.participant_by_token(eng, token)
    labels = q.labels_of(eng, person.set_id, list(person.image_order))
    for position, image_id in enumerate(person.image_order[:answers], start=1):
        survey.current_step(eng, survey.Visit(token=token))
        label = labels[image_id]
        survey.submit_answer(eng, token, position, label if always_right else 1 - label, 3)
    return person.id


def test_incomplete_counts_people_who_saw_an_image_and_consent_alone_is_counted_apart(backend):
    eng = engine()
    set_id = survey.create_set(eng, dataset_by_source("demo"), size=6, seed=1).id
    take_survey(eng, True, answers=2)  # stops after two images
    take_survey(eng, True, answers=0)  # consents and clicks Start, but the first image never reached them
    survey.consent(eng, survey.Visit())  # consents and goes no further
    counts = analysis.analyse(eng, set_id).counts
    assert (counts["completed"], counts["incomplete"], counts["consented_only"]) == (0, 1, 2)


def test_a_perfect_and_an_all_wrong_participant(backend):
    eng = engine()
    set_id = survey.create_set(eng, dataset_by_source("demo"), size=6, seed=1).id
    perfect = take_survey(eng, True, age_band="25-34")
    wrong = take_survey(eng, False)
    take_survey(eng, True, answers=2)  # stops after two images

    result = analysis.analyse(eng, set_id)
    assert result.counts["completed"] == 2 and result.counts["incomplete"] == 1
    s = result.scores
    assert (s.n, s.mean, s.median, s.chance) == (2, 3.0, 3.0, 3.0)
    assert s.min_correct_above_chance == 6 and s.n_above_chance == 1  # 6/6: p = 1/64
    people = result.participants.set_index("participant_id")
    assert people.loc[perfect, "correct"] == 6 and people.loc[wrong, "correct"] == 0
    assert people.loc[perfect, "dprime"] == pytest.approx(-people.loc[wrong, "dprime"])
    assert result.counts["answers_analysed"] == 14
    assert (result.images["n"] == 2).sum() == 4 and (result.images["n"] == 3).sum() == 2

    completed = analysis.analyse(eng, set_id, analysis.Inclusion(completed_only=True))
    assert completed.counts["answers_analysed"] == 12 and completed.accuracy["overall"] == 0.5
    assert (completed.images["majority"].isna()).all()  # one right, one wrong on every image: all ties
    assert completed.humans.majority_ties == 6

    always_ai = {"always-ai": np.full(6, 0.9)}  # a "model" that calls every image AI-generated
    by_age = analysis.analyse(eng, set_id, analysis.Inclusion(age_bands=("25-34",)), always_ai)
    assert by_age.counts["excluded_by"]["demographic"] == 2 and by_age.scores.mean == 6.0
    # Only the perfect participant counts: the majority is the truth, so the model agrees on the FAKE images.
    images = by_age.images
    assert list(images["agrees always-ai"]) == ["yes" if label == 1 else "no" for label in images["label"]]
    ties = analysis.analyse(eng, set_id, analysis.Inclusion(completed_only=True), always_ai)
    assert set(ties.images["agrees always-ai"]) == {"no majority"}


def test_simulated_participants_are_flagged_and_removed_in_one_step(backend):
    eng = engine()
    set_id = survey.create_set(eng, dataset_by_source("demo"), size=15, seed=2).id
    real = take_survey(eng, True)
    added = simulate(eng, 5, seed=9)
    assert added == {"set_id": set_id, "participants": 5, "completed": 5, "answers": 75, "seed": 9}
    default = analysis.analyse(eng, set_id)
    assert default.counts["excluded_by"]["simulated"] == 5 and default.scores.n == 1
    everyone = analysis.analyse(eng, set_id, analysis.Inclusion(include_simulated=True))
    assert everyone.scores.n == 6 and everyone.response_times["median_ms"] > 500  # plausible simulated times

    assert remove_simulated(eng) == {"participants_removed": 5, "answers_removed": 75}
    with eng.connect() as conn:
        assert conn.execute(select(func.count()).select_from(q.participants)).scalar() == 1
        assert conn.execute(select(func.count()).select_from(q.answers)).scalar() == 15
        assert conn.execute(select(func.count()).select_from(q.shown)).scalar() == 15
    assert analysis.analyse(eng, set_id).participants["participant_id"].tolist() == [real]
