"""Queries for researchers' own image sets (tables image_set, image_set_item)."""
from __future__ import annotations

from sqlalchemy import Engine, Row, select

from db.engine import writer
from db.schema import ImageSet, ImageSetItem, utcnow
from db.survey import _all, _one

image_sets = ImageSet.__table__
set_items = ImageSetItem.__table__
ITEM_KEY = ("sha256", "label", "generator", "category")


def save_image_set(engine: Engine, *, name: str, source: str, max_side: int, items: list[dict], report: dict) -> str:
    """'created', or 'unchanged' when a set of this name holds exactly these images with
    these labels already; NameTaken when a set of this name holds other images."""
    with writer(engine).begin() as conn:
        existing = conn.execute(select(image_sets.c.id).where(image_sets.c.name == name)).scalar()
        if existing is not None:
            stored = {tuple(r) for r in conn.execute(select(*(items_c(k) for k in ITEM_KEY))
                                                     .where(items_c("set_id") == existing))}
            wanted = {tuple(item[k] for k in ITEM_KEY) for item in items}
            if stored == wanted:
                return "unchanged"
            raise NameTaken(name)
        set_id = conn.execute(image_sets.insert().values(name=name, source=source, max_side=max_side,
                                                   n_images=len(items), report=report,
                                                   imported_at=utcnow())).inserted_primary_key[0]
        conn.execute(set_items.insert(), [{"set_id": set_id, **item} for item in items])
    return "created"


def items_c(name: str):
    return set_items.c[name]


class NameTaken(LookupError):
    """An image set of this name exists with other images."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


def image_set_id(engine_or_conn, name: str) -> int | None:
    row = _one(engine_or_conn, select(image_sets.c.id).where(image_sets.c.name == name))
    return None if row is None else int(row.id)


def list_image_sets(engine_or_conn) -> list[Row]:
    return _all(engine_or_conn, select(image_sets).order_by(image_sets.c.id))


def items_of(engine_or_conn, set_id: int) -> list[Row]:
    return _all(engine_or_conn, select(set_items).where(set_items.c.set_id == set_id).order_by(set_items.c.id))
