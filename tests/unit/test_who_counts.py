"""Live predictions shows "what the humans said" by the Results page's rule of
who counts (study.analysis.results.counted_answers), not a rule of its own:
simulated participants are left out unless asked for."""
from __future__ import annotations

import pandas as pd

from db import open_database
from study import survey
from study.analysis.results import ANSWER_COLUMNS, Inclusion, analyse, counted_answers, load_answers
from study.config import ensure_home
from study.survey.simulate import simulate


def _answers(*people) -> pd.DataFrame:
    """people: (participant_id, is_simulated, completed, n_answers)."""
    rows = [{"participant_id": pid, "is_simulated": simulated, "completed": completed, "age_band": None,
             "ai_exposure": None, "position": k, "image_id": f"img{k}", "label": k % 2, "answer": 1,
             "correct": int(k % 2 == 1), "confidence": float("nan"), "response_ms": 1500.0}
            for pid, simulated, completed, n in people for k in range(1, n + 1)]
    return pd.DataFrame(rows, columns=ANSWER_COLUMNS)


def test_simulated_participants_count_only_when_asked_for():
    answers = _answers((1, False, True, 4), (2, True, True, 4), (3, False, False, 2))
    assert set(counted_answers(answers)["participant_id"]) == {1, 3}
    assert set(counted_answers(answers, Inclusion(include_simulated=True))["participant_id"]) == {1, 2, 3}
    assert set(counted_answers(answers, Inclusion(completed_only=True))["participant_id"]) == {1}
    assert len(counted_answers(answers.iloc[:0])) == 0  # a set nobody answered


def test_the_rule_is_the_results_pages_rule(study_home):
    engine = open_database(ensure_home().database_url)
    survey_set = survey.ensure_open_set(engine)
    simulate(engine, 8, seed=3, dropout=0.3)
    answers = load_answers(engine, survey_set.id)
    for inclusion in (Inclusion(), Inclusion(include_simulated=True), Inclusion(include_simulated=True, completed_only=True),
                    Inclusion(include_simulated=True, speeder_ms=10_000)):
        ours = counted_answers(answers, inclusion)
        theirs = analyse(engine, survey_set.id, inclusion).answers
        assert ours.equals(theirs), inclusion
    assert len(counted_answers(answers)) == 0 and len(answers) > 0
