"""Simulated participants, so that the Results page can be tried before a real
study: `python -m study survey simulate --participants 63 --seed S`.

Each one goes through the very functions the survey page calls (consent ->
questions -> begin -> current_step -> submit_answer), on the open set, and is
stored with participant.is_simulated = True: the Results page leaves them out
unless asked, the export marks them, and `survey simulate --remove` deletes
every one of them (answers and shown-image rows included) in one transaction.

How a simulated person answers: each image has a difficulty and each person an
ability (seeded), P(right) = logistic(ease + ability), centred so that the mean
score is near the paper's 8.46/15. The flow itself runs in milliseconds, so the
response times it measures mean nothing; each simulated answer's time is then
replaced by a draw from a log-normal (median about 2.8 s, wrong answers a bit
slower), and its shown_at moved back to match. Only simulated rows are touched.

In a set with conditions, simulated people are assigned through the same balancer
(counted among themselves only). Shown a model's hint that disagrees with them, a
simulated person takes it with probability FOLLOW_HINT (in after_first conditions:
their first answer, then the final one), so hint conditions show a plausible
effect: better when the model is right, worse when it is wrong.
"""
from __future__ import annotations

import hashlib
from datetime import timedelta

import numpy as np
from sqlalchemy import Engine

import db.survey as q
from study import survey
from study.errors import StudyError
from study.labels import other_label
from study.survey import checks

MAX_PARTICIPANTS = 1000
MEAN_EASE = 0.30  # logit of P(right) for an average image and person: about 0.57, the paper's 8.46/15 = 0.564
EASE_SD = 0.9  # images differ a lot: some fool almost everyone
ABILITY_SD = 0.35
MEDIAN_RT_MS = 2800.0
RT_SIGMA = 0.45
FAIL_CHECK = 0.05  # careless people exist: a few press the wrong button on a catch trial
FOLLOW_HINT = 0.35  # Groh et al. 2022: people often, not always, switched to the model's verdict


def _image_ease(image_id: str, seed: int) -> float:
    """A difficulty fixed per (image, seed), the same for every simulated person."""
    digest = hashlib.sha256(f"{seed}:{image_id}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    return float(rng.normal(MEAN_EASE, EASE_SD))


def simulate(engine: Engine, participants: int, seed: int, *, dropout: float = 0.0) -> dict:
    """Add `participants` simulated people to the open set; a share `dropout` of
    them stops part-way. Returns what was added."""
    if not 1 <= participants <= MAX_PARTICIPANTS:
        raise StudyError(f"--participants must be between 1 and {MAX_PARTICIPANTS}, got {participants}")
    if not 0 <= dropout < 1:
        raise StudyError(f"--dropout must be in [0, 1), got {dropout}")
    if not 0 <= seed < 2**31:
        raise StudyError(f"--seed must be between 0 and {2**31 - 1}, got {seed}")
    if survey.ensure_open_set(engine) is None:
        raise StudyError("no survey set is open; open or create one first (`python -m study survey create --seed S`)")
    rng = np.random.default_rng(seed)
    added, completed, answers = [], 0, 0
    set_id = None
    for _ in range(participants):
        token = survey.consent(engine, survey.Visit(), simulated=True)
        ages, exposures = (None, *survey.AGE_BANDS), (None, *survey.AI_EXPOSURE)
        age, exposure = ages[rng.integers(len(ages))], exposures[rng.integers(len(exposures))]
        survey.answer_questions(engine, token, age, exposure)
        survey.begin(engine, token)
        person = q.participant_by_token(engine, token)
        set_id = person.set_id
        person_seed = q.get_set(engine, set_id).seed
        labels = q.labels_of(engine, set_id, list(person.image_order))
        ability = rng.normal(0.0, ABILITY_SD)
        stop_after = int(rng.integers(1, len(person.image_order))) if rng.random() < dropout else None
        times = {}
        while True:
            step = survey.current_step(engine, survey.Visit(token=token))
            if step.stage == "feedback":
                survey.continue_after_feedback(engine, token, step.position)
                continue
            if step.stage not in ("image", "check") or (stop_after is not None and step.position > stop_after):
                break
            if step.stage == "check":
                expected = checks.expected_answer(person_seed, person.id, step.check)
                survey.submit_check(engine, token, step.check,
                                    other_label(expected) if rng.random() < FAIL_CHECK else expected)
                continue
            image_id = person.image_order[step.position - 1]
            label = labels[image_id]
            if step.phase == "final":
                answer = step.first_answer
            else:
                right = rng.random() < 1 / (1 + np.exp(-(_image_ease(image_id, seed) + ability)))
                answer = label if right else other_label(label)
            if step.phase == "first":
                survey.submit_first_answer(engine, token, step.position, int(answer))
                continue  # the hint comes next, then the final answer
            if step.hint is not None and step.hint.verdict != answer and rng.random() < FOLLOW_HINT:
                answer = step.hint.verdict
            right = answer == label
            confidence = None if rng.random() < 0.2 else int(np.clip(round(rng.normal(3.4 if right else 2.9, 1)), 1, 5))
            survey.submit_answer(engine, token, step.position, int(answer), confidence)
            times[step.position] = int(rng.lognormal(np.log(MEDIAN_RT_MS * (1.0 if right else 1.15)), RT_SIGMA))
            answers += 1
        _set_response_times(engine, person.id, times)
        completed += stop_after is None
        added.append(person.id)
    return {"set_id": set_id, "participants": len(added), "completed": completed, "answers": answers,
            "seed": seed}


def _set_response_times(engine: Engine, participant_id: int, times: dict[int, int]) -> None:
    """Replace a simulated participant's measured times (see the module docstring)."""
    with q.write_transaction(engine) as conn:
        new = {row.position: (times[row.position], q.as_utc(row.answered_at) - timedelta(milliseconds=times[row.position]))
               for row in q.answers_of(conn, participant_id)}
        q.rewrite_simulated_times(conn, participant_id, new)


def remove_simulated(engine: Engine) -> dict:
    """Delete every simulated participant of every set, with their answers."""
    with q.write_transaction(engine) as conn:
        n_people, n_answers = q.delete_simulated(conn)
    return {"participants_removed": n_people, "answers_removed": n_answers}
