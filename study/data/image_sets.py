"""Researchers' image sets as the app reads them (imported by study/data/imports.py):
what sets there are, what each holds, and their stored pictures."""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Engine

import db.image_sets as q
from study.errors import DatasetError, StudyError
from study.labels import CLASS_NAMES, FAKE, REAL


def summaries(engine: Engine) -> list[dict]:
    """One row per image set, as the Setup page lists them."""
    rows = []
    for image_set in q.list_image_sets(engine):
        items = q.items_of(engine, image_set.id)
        labels = Counter(item.label for item in items)
        generators = sorted({item.generator for item in items if item.generator})
        categories = sorted({item.category for item in items if item.category})
        sides = [max(item.width, item.height) for item in items]
        rows.append({
            "name": image_set.name, "images": len(items), CLASS_NAMES[REAL]: labels[REAL],
            CLASS_NAMES[FAKE]: labels[FAKE], "generators": ", ".join(generators) or "—",
            "categories": ", ".join(categories) or "—",
            "long side (px)": f"{min(sides)}–{max(sides)}" if sides else "—",
            "imported": image_set.imported_at, "source": image_set.source,
        })
    return rows


PREFIX = "set:"  # a data source naming an image set: "set:NAME"
SPLIT = "all"  # image sets have no train/test split: a survey draws from all of it


def is_image_set(source: str | None) -> bool:
    return bool(source) and str(source).startswith(PREFIX)


def name_of(source: str) -> str:
    """NAME of "set:NAME" (a bare NAME as it is)."""
    return source[len(PREFIX):] if is_image_set(source) else source


def sources(engine: Engine) -> list[str]:
    """Every image set as a data source, "set:NAME", oldest first."""
    return [PREFIX + row.name for row in q.list_image_sets(engine)]


@dataclass(frozen=True, eq=False)
class ImagePool:
    """An image set as a survey draws from it: the same attributes a survey reads of a
    CIFAKE Dataset (ids, labels, splits, dup_count, fingerprint, source), plus each
    image's generator, category and size. Ids are the stored contents' sha256."""

    name: str
    ids: np.ndarray
    labels: np.ndarray
    generators: np.ndarray
    categories: np.ndarray
    widths: np.ndarray
    heights: np.ndarray
    fingerprint: str
    is_demo: bool = False
    default_split: str = SPLIT

    @property
    def source(self) -> str:
        return PREFIX + self.name

    @property
    def splits(self) -> np.ndarray:
        return np.full(len(self.ids), SPLIT)

    @property
    def dup_count(self) -> np.ndarray:
        return np.ones(len(self.ids), dtype=np.int64)  # exact duplicates were stored once at import

    def groups(self, by: str | None) -> np.ndarray | None:
        """Each image's generator or category (None: no grouping); unknown ones are ''."""
        if by is None:
            return None
        if by not in BALANCE_BY:
            raise StudyError(f"--balance-by must be one of {', '.join(BALANCE_BY)}, got {by!r}")
        return self.generators if by == "generator" else self.categories

    def size_of(self, image_id: str) -> tuple[int, int]:
        index = int(np.flatnonzero(self.ids == image_id)[0])
        return int(self.widths[index]), int(self.heights[index])


BALANCE_BY = ("generator", "category")


def pool(engine: Engine, source: str) -> ImagePool:
    """The image set named by `source` ("set:NAME" or NAME)."""
    name = name_of(source)
    set_id = q.image_set_id(engine, name)
    if set_id is None:
        known = ", ".join(r.name for r in q.list_image_sets(engine)) or "none yet (`python -m study data import`)"
        raise DatasetError(f"there is no image set {name!r}; image sets: {known}")
    items = q.items_of(engine, set_id)
    digest = hashlib.sha256("\n".join(sorted(f"{i.sha256}:{i.label}" for i in items)).encode()).hexdigest()
    return ImagePool(
        name=name, ids=np.array([i.sha256 for i in items]), labels=np.array([i.label for i in items], np.int64),
        generators=np.array([i.generator or "" for i in items]), categories=np.array([i.category or "" for i in items]),
        widths=np.array([i.width for i in items]), heights=np.array([i.height for i in items]), fingerprint=digest,
    )
