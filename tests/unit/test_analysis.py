"""The statistics of the Results page against cases worked out by hand."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from study.analysis import images as analysis_images
from study.analysis import humans_vs_models as analysis_models
from study.analysis import scores as analysis_scores
from study.analysis import Inclusion, mark_participants


# --- exact binomial -----------------------------------------------------------------

def test_with_15_images_a_participant_needs_12_right_to_beat_chance():
    assert analysis_scores.min_correct_above_chance(15) == 12
    # P(X >= 12 | n = 15, p = .5) = (C(15,12) + C(15,13) + C(15,14) + C(15,15)) / 2^15 = 576 / 32768
    assert analysis_scores.binomial_p(12, 15) == pytest.approx(576 / 32768)
    assert analysis_scores.binomial_p(11, 15) == pytest.approx((1365 + 576) / 32768)
    assert analysis_scores.binomial_p(11, 15) > 0.05 > analysis_scores.binomial_p(12, 15)
    assert analysis_scores.binomial_p(15, 15) == pytest.approx(1 / 32768)
    assert analysis_scores.binomial_p(0, 15) == pytest.approx(1.0)


def test_too_few_images_can_never_beat_chance():
    assert analysis_scores.min_correct_above_chance(4) is None  # 4/4 by guessing: p = 1/16 > .05
    assert analysis_scores.min_correct_above_chance(5) == 5  # 1/32 < .05


# --- signal detection ---------------------------------------------------------------

def test_a_perfect_participant_gets_a_large_finite_dprime_through_the_log_linear_correction():
    # 8 FAKE all called AI-generated, 7 REAL all called real:
    # H = (8 + .5) / (8 + 1) = .9444, F = (0 + .5) / (7 + 1) = .0625
    sdt = analysis_scores.signal_detection(hits=8, misses=0, false_alarms=0, correct_rejections=7)
    assert sdt.hit_rate == pytest.approx(8.5 / 9) and sdt.false_alarm_rate == pytest.approx(0.0625)
    # z(.9444) = 1.5932, z(.0625) = -1.5341
    assert sdt.dprime == pytest.approx(1.5932 + 1.5341, abs=1e-3)
    assert sdt.criterion == pytest.approx(-(1.5932 - 1.5341) / 2, abs=1e-3)


def test_an_all_wrong_participant_has_the_mirror_dprime():
    perfect = analysis_scores.signal_detection(8, 0, 0, 7)
    wrong = analysis_scores.signal_detection(hits=0, misses=8, false_alarms=7, correct_rejections=0)
    assert wrong.dprime == pytest.approx(-perfect.dprime)
    assert math.isfinite(wrong.dprime)


def test_guessing_everything_ai_is_no_sensitivity_and_a_liberal_criterion():
    sdt = analysis_scores.signal_detection(hits=8, misses=0, false_alarms=8, correct_rejections=0)
    assert sdt.dprime == pytest.approx(0.0)  # H = F = 8.5/9
    assert sdt.criterion < -1  # leans hard towards "AI-generated"


def test_dprime_is_undefined_without_both_kinds_of_image():
    assert analysis_scores.signal_detection(3, 1, 0, 0).dprime is None


def test_per_participant_figures():
    rows = []
    for pid, flip in ((1, False), (2, True)):  # 1 is always right, 2 always wrong
        for i, label in enumerate([1, 1, 1, 0, 0]):
            answer = 1 - label if flip else label
            rows.append({"participant_id": pid, "label": label, "answer": answer, "correct": int(answer == label),
                         "response_ms": 1000.0 * (i + 1)})
    table = analysis_scores.per_participant(pd.DataFrame(rows)).set_index("participant_id")
    assert table.loc[1, "correct"] == 5 and table.loc[2, "correct"] == 0
    assert table.loc[1, "accuracy_real"] == 1.0 and table.loc[2, "accuracy_fake"] == 0.0
    assert table.loc[1, "dprime"] > 0 > table.loc[2, "dprime"]
    assert table.loc[1, "binomial_p"] == pytest.approx(1 / 32) and table.loc[2, "binomial_p"] == pytest.approx(1.0)
    assert table.loc[1, "median_response_ms"] == 3000.0


# --- the score distribution ---------------------------------------------------------

def test_score_summary_by_hand():
    s = analysis_scores.score_summary([8, 9, 10, 7], set_size=15)
    assert (s.n, s.mean, s.median, s.chance) == (4, 8.5, 8.5, 7.5)
    assert s.sd == pytest.approx(math.sqrt(5 / 3))  # squared deviations .25 + .25 + 2.25 + 2.25 over 3
    sem = math.sqrt(5 / 3) / 2
    assert s.t == pytest.approx(1.0 / sem) and s.df == 3
    # t(.975, 3) = 3.182446
    assert s.ci_low == pytest.approx(8.5 - 3.182446 * sem, abs=1e-5)
    assert s.ci_high == pytest.approx(8.5 + 3.182446 * sem, abs=1e-5)
    assert (s.paper_mean, s.paper_scaled, s.min_correct_above_chance, s.n_above_chance) == (8.46, False, 12, 0)


def test_all_perfect_and_all_wrong_scores():
    perfect = analysis_scores.score_summary([15, 15, 15], 15)
    assert (perfect.mean, perfect.sd, perfect.ci_low, perfect.ci_high, perfect.t) == (15, 0, 15, 15, None)
    assert perfect.n_above_chance == 3
    mixed = analysis_scores.score_summary([15, 0], 15)
    assert mixed.mean == 7.5 and mixed.t == pytest.approx(0.0) and mixed.p == pytest.approx(1.0)


def test_one_or_no_participant():
    one = analysis_scores.score_summary([9], 15)
    assert one.mean == 9 and one.sd is None and one.t is None and one.ci_low is None
    none = analysis_scores.score_summary([], 15)
    assert none.n == 0 and none.mean is None


def test_the_papers_mean_is_scaled_to_the_set_size():
    s = analysis_scores.score_summary([10, 12], set_size=20)
    assert s.paper_scaled and s.paper_mean == pytest.approx(8.46 / 15 * 20) and s.chance == 10


# --- images, majority, models ---------------------------------------------------------

def answers_frame(rows):
    frame = pd.DataFrame(rows, columns=["participant_id", "image_id", "label", "answer", "confidence", "response_ms"])
    frame["correct"] = (frame["answer"] == frame["label"]).astype(int)
    return frame


IMAGES = pd.DataFrame({"pool_position": [0, 1, 2, 3], "image_id": ["a", "b", "c", "d"], "label": [1, 0, 1, 0]})


def test_per_image_shares_and_majority_with_a_tie_and_an_unanswered_image():
    answers = answers_frame([
        (1, "a", 1, 1, 5, 1000), (2, "a", 1, 1, None, 3000), (3, "a", 1, 0, 1, 2000),  # 2 of 3 right
        (1, "b", 0, 1, 2, 500), (2, "b", 0, 0, 4, 700),  # tie: one said AI, one real
        (1, "c", 1, 0, 3, 900),  # wrong
    ])
    table = analysis_images.per_image(IMAGES, answers).set_index("image_id")
    assert table.loc["a", "n"] == 3 and table.loc["a", "share_right"] == pytest.approx(2 / 3)
    assert table.loc["a", "mean_confidence"] == 3.0 and table.loc["a", "mean_response_ms"] == 2000.0
    assert table.loc["a", "majority"] == 1.0 and np.isnan(table.loc["b", "majority"])
    assert table.loc["c", "majority"] == 0.0 and table.loc["c", "share_right"] == 0.0
    assert table.loc["d", "n"] == 0 and np.isnan(table.loc["d", "share_right"]) and np.isnan(table.loc["d", "majority"])

    humans = analysis_models.compare_humans(answers, table.reset_index())
    assert (humans.majority_n, humans.majority_ties) == (2, 1)
    assert humans.majority_accuracy == 0.5  # a right, c wrong
    assert humans.confusion == [[1, 1], [2, 2]]  # rows true REAL, FAKE; columns said REAL, AI
    assert humans.accuracy == pytest.approx(3 / 6)

    model = analysis_models.compare_model("m", table.reset_index(), np.array([0.9, 0.2, 0.1, 0.6]))
    assert model.accuracy == 0.5 and model.confusion == [[1, 1], [1, 1]]
    # compared on a and c only (b tied, d unanswered): human (1, 0), model (1, 0)
    assert model.n_compared == 2 and model.agreement_with_majority == 1.0 and model.kappa_vs_majority == 1.0


def test_kappa_by_hand_and_when_undefined():
    # 2x2: agree on 3 of 4; p_o = .75, p_e = .5 -> kappa = .5
    assert analysis_models.kappa([1, 1, 0, 0], [1, 0, 0, 0]) == pytest.approx((0.75 - 0.5) / (1 - 0.5))
    assert analysis_models.kappa([1, 1, 1], [1, 1, 1]) is None
    assert analysis_models.kappa([1], [1]) is None


def test_thumbnails_are_nearest_neighbour_png_data_uris():
    import base64
    import io

    from PIL import Image

    pixels = np.zeros((32, 32, 3), np.uint8)
    pixels[0, 0] = (255, 0, 0)
    uri = analysis_images.thumbnail_data_uri(pixels, 64)
    assert uri.startswith("data:image/png;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert image.size == (64, 64)
    assert image.getpixel((1, 1)) == (255, 0, 0) and image.getpixel((2, 2)) == (0, 0, 0)  # whole pixels, no blur


# --- who counts -----------------------------------------------------------------------

def test_simulated_demographic_and_speeders_are_marked_in_that_order():
    people = pd.DataFrame({
        "participant_id": [1, 2, 3, 4, 5],
        "is_simulated": [True, False, False, False, False],
        "completed": [True, True, True, False, True],
        "age_band": ["18-24", None, "25-34", "18-24", "18-24"],
        "ai_exposure": [None] * 5,
    })
    answers = pd.DataFrame({"participant_id": [1, 2, 3, 5], "response_ms": [100.0, 5000.0, 200.0, 300.0]})
    marked = mark_participants(people, answers, Inclusion(speeder_ms=1000, age_bands=("18-24", "skipped")))
    assert marked["excluded"].tolist() == ["simulated", "", "demographic", "", "speeder"]
    everyone = mark_participants(people, answers, Inclusion(include_simulated=True))
    assert everyone["excluded"].tolist() == [""] * 5
