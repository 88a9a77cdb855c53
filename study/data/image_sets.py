"""Researchers' image sets as the app reads them (imported by study/data/imports.py):
what sets there are, what each holds, and their stored pictures."""
from __future__ import annotations

from collections import Counter

from sqlalchemy import Engine

import db.image_sets as q
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
