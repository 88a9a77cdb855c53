"""Which dataset the app serves: the prepared CIFAKE when there is one, else the
clearly marked synthetic demo pool, so that a fresh install has a working survey;
and what a command or job names as its data (--data)."""
from __future__ import annotations

import functools

from sqlalchemy import Engine

from db import open_database
from db.datasets import get_setting
from study.config import get_settings
from study.data.datasets import SIZE, cached_dataset, load_dataset
from study.data.image_set_training import image_set_dataset
from study.data.image_sets import is_image_set
from study.data.demo import demo_pool
from study.data.sources import resolve_source
from study.errors import DatasetError, StudyError

DEMO_SOURCE = "demo"
SOURCE_SETTING = "cifake_source"  # the database setting that names the prepared CIFAKE


@functools.lru_cache(maxsize=1)
def _demo():
    return demo_pool()


def configured_source(engine: Engine | None = None) -> tuple[str | None, str]:
    """(source, where it was set): env CIFAKE_ROOT, else the database setting
    `cifake_source`, else (None, "none") and the app uses the demo pool."""
    settings = get_settings()
    if settings.cifake_root is not None:  # a bad value is a DatasetError here, not a crash in get_settings
        return str(resolve_source(settings.cifake_root)), "CIFAKE_ROOT"
    if engine is None:
        engine = open_database(settings.database_url)
    value = get_setting(engine, SOURCE_SETTING)
    return (value, "database") if value else (None, "none")


def dataset_by_source(source: str):
    """The dataset a survey set or run was made from, read from the array cache."""
    if source == DEMO_SOURCE:
        return _demo()
    dataset = cached_dataset(source)
    if dataset is None:
        raise DatasetError(
            f"the dataset {source} is not prepared (or has changed since); "
            f"run `python -m study data prepare {source}`"
        )
    return dataset


def active_dataset(engine: Engine):
    """The prepared CIFAKE, or the demo pool when none is configured or cached."""
    source, _where = configured_source(engine)
    if source is None:
        return _demo()
    try:
        return dataset_by_source(source)
    except DatasetError:
        return _demo()


def load_source(source: str | None, side: int | None = None):
    """What a command or job names as its data (--data): `demo`, a dataset path
    (decoded into the cache on first use), an imported image set `set:NAME`
    brought to side x side (default 32, CIFAKE's), or None for the dataset the
    study is configured with. A side is only for image sets: CIFAKE is 32x32."""
    if source is None:
        source, _ = configured_source()
        if source is None:
            raise StudyError("no dataset: give --data SRC (a CIFAKE folder or archive, or set:NAME for an "
                             "imported image set) or --data demo")
    if is_image_set(source):
        settings = get_settings()
        return image_set_dataset(open_database(settings.database_url), source, side or SIZE)
    if side is not None and side != SIZE:
        raise StudyError(f"--resolution is for image sets (--data set:NAME); {source} is CIFAKE-like, "
                         f"always {SIZE}x{SIZE}")
    if source == DEMO_SOURCE:
        return _demo()
    if not resolve_source(source).exists():
        raise StudyError(f"dataset source {source} does not exist; expected a CIFAKE folder/zip/tar.gz or `demo`")
    return load_dataset(source)
