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
slower), and its shown_at moved back to match. In after_first conditions that
draw is the first answer's time (stored with it), and the final answer comes a
second draw later (the time spent on the hint: median HINT_RT_MS). Only
simulated rows are touched.

In a set with conditions, simulated people are assigned through the same balancer
(counted among themselves only). Shown a model's hint that disagrees with them, a
simulated person takes it with probability FOLLOW_HINT (in after_first conditions:
their first answer, then the final one), so hint conditions show a plausible
effect: better when the model is right, worse when it is wrong. In after_first
conditions a person whose first answer the model confirms still changes it with
probability SWITCH_AWAY (second thoughts), so the switch-away rate is not 0.

Each simulated person consents from a desktop, phone or tablet (DEVICES), so
that the Results page's device filter has something to show.

What this module added later (device, switching away, first answers' times) draws
from a second generator, so a seed's answers, scores and final response times
outside after_first conditions stay what they were.
"""
from __future__ import annotations

import hashlib
from datetime import timedelta

import numpy as np
from sqlalchemy import Engine

import db.conditions as qc
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
SWITCH_AWAY = 0.04  # second thoughts: now and then a confirmed first answer is changed all the same
HINT_RT_MS = 1200.0  # median time from the hint appearing to the final answer (after_first)
DEVICES = {  # share of simulated people per device class, and a browser of that class
    "desktop": (0.65, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36"),
    "mobile": (0.30, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"),
    "tablet": (0.05, "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"),
}


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
    later = np.random.default_rng([seed, 14])  # the draws added later (see the module docstring)
    shares = np.array([share for share, _ in DEVICES.values()])
    added, completed, answers = [], 0, 0
    set_id = None
    for _ in range(participants):
        browser = list(DEVICES.values())[later.choice(len(DEVICES), p=shares / shares.sum())][1]
        token = survey.consent(engine, survey.Visit(), simulated=True, user_agent=browser)
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
        times, first_times = {}, {}
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
            second_thoughts = (step.phase == "final" and step.hint is not None and step.hint.verdict == answer
                               and later.random() < SWITCH_AWAY)
            if second_thoughts:
                answer = other_label(answer)
            elif step.hint is not None and step.hint.verdict != answer and rng.random() < FOLLOW_HINT:
                answer = step.hint.verdict
            right = answer == label
            confidence = None if rng.random() < 0.2 else int(np.clip(round(rng.normal(3.4 if right else 2.9, 1)), 1, 5))
            survey.submit_answer(engine, token, step.position, int(answer), confidence)
            ms = int(rng.lognormal(np.log(MEDIAN_RT_MS * (1.0 if right else 1.15)), RT_SIGMA))
            if step.phase == "final":  # the draw is the first answer's; the hint takes its own time after it
                first_times[step.position] = ms
                ms += int(later.lognormal(np.log(HINT_RT_MS), RT_SIGMA))
            times[step.position] = ms
            answers += 1
        _set_response_times(engine, person.id, times, first_times)
        completed += stop_after is None
        added.append(person.id)
    return {"set_id": set_id, "participants": len(added), "completed": completed, "answers": answers,
            "seed": seed}


def _set_response_times(engine: Engine, participant_id: int, times: dict[int, int],
                        first_times: dict[int, int]) -> None:
    """Replace a simulated participant's measured times (see the module docstring):
    each image is moved to have been shown its drawn time before the final answer
    arrived, and a first answer (after_first) to have come its own drawn time after that."""
    with q.write_transaction(engine) as conn:
        new = {row.position: (times[row.position], q.as_utc(row.answered_at) - timedelta(milliseconds=times[row.position]))
               for row in q.answers_of(conn, participant_id)}
        q.rewrite_simulated_times(conn, participant_id, new)
        qc.rewrite_simulated_first_answers(conn, participant_id, {
            position: (ms, new[position][1] + timedelta(milliseconds=ms))
            for position, ms in first_times.items() if position in new})


def remove_simulated(engine: Engine) -> dict:
    """Delete every simulated participant of every set, with their answers."""
    with q.write_transaction(engine) as conn:
        n_people, n_answers = q.delete_simulated(conn)
    return {"participants_removed": n_people, "answers_removed": n_answers}
