"""Preparing CIFAKE and reporting on it: shared by `python -m study data ...` and
the Setup page, so both do and say the same thing."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from sqlalchemy import Engine

from db.datasets import record_prepared, set_setting
from study.data.active import SOURCE_SETTING, configured_source
from study.data.datasets import cached_dataset, load_dataset
from study.data.sources import resolve_source
from study.errors import DatasetError


def prepare(engine: Engine, source: str | Path, progress: Callable[[int, int], None] | None = None,
            use_cache: bool = True):
    """Decode (or read from the cache) a CIFAKE source and make it the app's dataset."""
    path = resolve_source(source)
    dataset = load_dataset(path, progress=progress, use_cache=use_cache)
    report = dataset.report
    record_prepared(engine, dataset.fingerprint, str(path), len(dataset), report["cache_path"], report)
    set_setting(engine, SOURCE_SETTING, str(path))
    return dataset


def status(engine: Engine) -> dict:
    """What the app serves now, read from the cache only: never decodes."""
    source, where = configured_source(engine)
    if source is None:
        return {"prepared": False, "source": None, "source_from": where,
                "message": "no CIFAKE prepared; the app uses the demo pool (synthetic images, not CIFAKE); "
                           "run `python -m study data prepare PATH` or use the Setup page"}
    try:
        dataset = cached_dataset(source)
    except DatasetError as err:  # the source itself is gone or unreadable: preparing would not help
        dataset, message = None, f"CIFAKE source {source} (from {where}) cannot be read: {err}"
    else:
        message = (f"CIFAKE source {source} (from {where}) is not prepared, or changed since it was "
                   f"(no cache for its current content); run `python -m study data prepare {source}`; "
                   "until then the app uses the demo pool")
    if dataset is None:
        return {"prepared": False, "source": source, "source_from": where, "message": message}
    return dict(dataset.report, prepared=True, source=source, source_from=where, from_cache=True)
