"""Which dataset the app serves: the prepared CIFAKE when there is one, else the
clearly marked synthetic demo pool, so that a fresh install has a working survey."""
from __future__ import annotations

import functools

from sqlalchemy import Engine

from study.errors import DatasetError, StudyError

DEMO_SOURCE = "demo"


@functools.lru_cache(maxsize=1)
def _demo():
    from study.data.demo import demo_pool

    return demo_pool()


def dataset_by_source(source: str):
    """The dataset a survey set or run was made from, read from the array cache."""
    if source == DEMO_SOURCE:
        return _demo()
    from study.data.datasets import cached_dataset

    dataset = cached_dataset(source)
    if dataset is None:
        raise DatasetError(
            f"the dataset {source} is not prepared (or has changed since); "
            f"run `python -m study data prepare {source}`"
        )
    return dataset


def active_dataset(engine: Engine):
    """The prepared CIFAKE, or the demo pool when none is configured or cached."""
    from study.data.datasets import configured_source

    source, _where = configured_source(engine)
    if source is None:
        return _demo()
    try:
        return dataset_by_source(source)
    except DatasetError:
        return _demo()


def load_source(source: str | None):
    """What a command or job names as its data (--data): `demo`, a dataset path
    (decoded into the cache on first use), or None for the dataset the study is
    configured with."""
    from study.data.datasets import configured_source, load_dataset
    from study.data.sources import resolve_source

    if source is None:
        source, _ = configured_source()
        if source is None:
            raise StudyError("no dataset: give --data SRC (a CIFAKE folder or archive) or --data demo")
    if source == DEMO_SOURCE:
        return _demo()
    if not resolve_source(source).exists():
        raise StudyError(f"dataset source {source} does not exist; expected a CIFAKE folder/zip/tar.gz or `demo`")
    return load_dataset(source)
