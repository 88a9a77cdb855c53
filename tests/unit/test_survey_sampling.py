"""Survey sets are balanced, duplicate-free and reproducible; orders are stable per
participant; scoring counts matches with the labels."""
from types import SimpleNamespace

import numpy as np
import pytest

from study.errors import DatasetError, StudyError
from study.survey.scoring import ScoredAnswer, score
from study.survey.sets import draw_set_images, participant_order, sample_balanced


def fake_dataset(n_per_label=40, duplicated=10):
    """A CIFAKE-shaped dataset: test and train, REAL and FAKE, some FAKE duplicated."""
    ids, labels, splits, dup = [], [], [], []
    for split in ("test", "train"):
        for label, name in enumerate(("REAL", "FAKE")):
            for i in range(n_per_label):
                ids.append(f"{split}/{name}/{i:04d}.jpg" if label == 0 else f"{split}/{name}/{i}.jpg")
                labels.append(label)
                splits.append(split)
                dup.append(2 if (label == 1 and i < duplicated) else 1)
    n = len(ids)
    return SimpleNamespace(
        ids=np.array(ids), labels=np.array(labels), splits=np.array(splits), dup_count=np.array(dup),
        images=np.zeros((n, 32, 32, 3), np.uint8), fingerprint="f" * 64, source="fake", is_demo=False,
    )


@pytest.mark.parametrize("size", [15, 16, 2, 3])
def test_a_set_is_as_balanced_as_its_size_allows(size):
    drawn = draw_set_images(fake_dataset(), "test", size, seed=7)
    labels = [label for _, label in drawn]
    assert len(drawn) == size
    assert abs(labels.count(0) - labels.count(1)) == size % 2
    assert len({image_id for image_id, _ in drawn}) == size


def test_an_odd_sized_set_gives_the_extra_image_to_either_label_depending_on_the_seed():
    extra_real = {sum(1 for _, label in draw_set_images(fake_dataset(), "test", 15, seed) if label == 0) == 8
                  for seed in range(20)}
    assert extra_real == {True, False}


def test_a_set_never_holds_an_image_whose_content_occurs_twice_nor_one_from_another_split():
    dataset = fake_dataset(n_per_label=12, duplicated=4)  # 8 unique FAKE test images left
    for seed in range(10):
        drawn = draw_set_images(dataset, "test", 16, seed)
        for image_id, _ in drawn:
            row = list(dataset.ids).index(image_id)
            assert dataset.dup_count[row] == 1 and dataset.splits[row] == "test"


def test_too_few_unique_images_is_a_clear_error():
    with pytest.raises(DatasetError, match="need 9 FAKE images that occur only once.*only 8"):
        draw_set_images(fake_dataset(n_per_label=12, duplicated=4), "test", 18, seed=0)
    with pytest.raises(DatasetError, match="split 'valid' is not in this dataset"):
        draw_set_images(fake_dataset(), "valid", 15, seed=0)
    with pytest.raises(StudyError, match="at least 2"):
        sample_balanced(np.array([0, 1]), np.array([True, True]), 1, np.random.default_rng(0))


def test_the_same_seed_draws_the_same_set_and_another_seed_another():
    dataset = fake_dataset()
    assert draw_set_images(dataset, "test", 15, 3) == draw_set_images(dataset, "test", 15, 3)
    assert draw_set_images(dataset, "test", 15, 3) != draw_set_images(dataset, "test", 15, 4)


def test_each_participant_has_a_stable_order_of_the_same_images():
    labels = np.array([0, 1] * 7 + [0])
    first = participant_order(5, 1, labels, 15, "fixed")
    assert list(first) == list(participant_order(5, 1, labels, 15, "fixed"))  # a reload
    assert sorted(first) == list(range(15))
    others = [tuple(participant_order(5, pid, labels, 15, "fixed")) for pid in range(2, 8)]
    assert any(order != tuple(first) for order in others)


def test_the_pool_design_gives_each_participant_a_balanced_draw_from_the_pool():
    labels = np.array([0] * 50 + [1] * 50)
    draws = [participant_order(1, pid, labels, 15, "pool") for pid in range(1, 6)]
    for draw in draws:
        assert len(set(draw)) == 15
        assert abs(int((labels[draw] == 0).sum()) - int((labels[draw] == 1).sum())) == 1
    assert len({frozenset(draw.tolist()) for draw in draws}) > 1
    assert list(draws[0]) == list(participant_order(1, 1, labels, 15, "pool"))


def test_scoring_counts_answers_that_match_the_label():
    items = [ScoredAnswer(2, 1, 1, None), ScoredAnswer(1, 0, 1, 5), ScoredAnswer(3, 0, 0, 2)]
    result = score(items, total=15)
    assert (result.correct, result.total, str(result)) == (2, 15, "2/15")
    assert [item.position for item in result.items] == [1, 2, 3]
    assert [item.correct for item in result.items] == [False, True, True]
    assert score([]).fraction == 0.0
