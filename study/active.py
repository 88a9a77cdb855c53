"""Which dataset the app serves: the prepared CIFAKE when there is one, else the
clearly marked synthetic demo pool, so that a fresh install has a working survey."""
from __future__ import annotations

import functools

from sqlalchemy import Engine

from study.errors import DatasetError

DEMO_SOURCE = "demo"


@functools.lru_cache(maxsize=1)
def _demo():
    from study.demo import demo_pool

    return demo_pool()


def dataset_by_source(source: str):
    """The dataset a survey set or run was made from, read from the array cache."""
    if source == DEMO_SOURCE:
        return _demo()
    from study.data import cached_dataset

    dataset = cached_dataset(source)
    if dataset is None:
        raise DatasetError(
            f"the dataset {source} is not prepared (or has changed since); "
            f"run `python -m study data prepare {source}`"
        )
    return dataset


def active_dataset(engine: Engine):
    """The prepared CIFAKE, or the demo pool when none is configured or cached."""
    from study.data import configured_source

    source, _where = configured_source(engine)
    if source is None:
        return _demo()
    try:
        return dataset_by_source(source)
    except DatasetError:
        return _demo()
