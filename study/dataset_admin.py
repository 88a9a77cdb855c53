"""Preparing CIFAKE and reporting on it: shared by `python -m study data ...` and
the Setup page, so both say the same thing."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from sqlalchemy import Engine

from study.active import configured_source
from study.config import get_settings

SOURCE_SETTING = "cifake_source"


def prepare(engine: Engine, source: str | Path, progress: Callable[[int, int], None] | None = None,
            use_cache: bool = True):
    """Decode (or read from the cache) a CIFAKE source and make it the app's dataset."""
    from db.datasets import record_prepared, set_setting
    from study.data import load_dataset

    path = Path(source).expanduser().resolve()
    dataset = load_dataset(path, progress=progress, use_cache=use_cache)
    record_prepared(engine, dataset.fingerprint, str(path), len(dataset),
                    str(dataset.report.get("cache_path", "")), dataset.report)
    set_setting(engine, SOURCE_SETTING, str(path))
    return dataset


def status(engine: Engine) -> dict:
    """What the app serves now, read from the cache only: never decodes."""
    from study.data import cached_dataset

    source = configured_source(engine)
    from_env = get_settings().cifake_root is not None
    if source is None:
        return {
            "prepared": False,
            "source": None,
            "message": "No CIFAKE prepared: the app uses the demo pool (synthetic images, not CIFAKE). "
                       "Run `python -m study data prepare PATH` or use the Setup page.",
        }
    dataset = cached_dataset(source)
    if dataset is None:
        return {
            "prepared": False,
            "source": source,
            "source_from_env": from_env,
            "message": f"{source} is not prepared, or has changed since it was: "
                       f"run `python -m study data prepare {source}`. Until then the app uses the demo pool.",
        }
    report = dict(dataset.report)
    report.update(prepared=True, source=source, source_from_env=from_env, from_cache=True)
    return report
