"""Results per generator and per category, for surveys drawn from a researcher's
image set (study/data/image_sets.py) whose images carry them.

Per group: the answers on its images, the people who gave them, accuracy, and d′
and c (log-linear correction, as the rest of the page). A generator's images are
usually all AI-generated: its d′ then pairs the hit rate on its images with the
false-alarm rate on every real photo of the set (the same photos for every
generator), so generators are compared on one scale. A group with only real
photos (a category of photos) pairs the other way round. Figures from fewer than
2 people are None ("not enough data"). Beside the humans, each model compared:
its accuracy on the group's images (the humans' is on the answers they gave)."""
from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine

import db.image_sets as image_set_rows
from study.analysis import scores
from study.data.image_sets import is_image_set, name_of
from study.labels import FAKE, REAL

MIN_PEOPLE = 2
KINDS = ("generator", "category")


def image_groups(engine: Engine, source: str) -> pd.DataFrame:
    """image_id, generator, category of an image set's images ('' where unknown)."""
    if not is_image_set(source):
        return pd.DataFrame(columns=["image_id", *KINDS])
    set_id = image_set_rows.image_set_id(engine, name_of(source))
    rows = image_set_rows.items_of(engine, set_id) if set_id is not None else []
    return pd.DataFrame([{"image_id": r.sha256, "generator": r.generator or "", "category": r.category or ""}
                         for r in rows], columns=["image_id", *KINDS])


def by_group(answers: pd.DataFrame, groups: pd.DataFrame, images: pd.DataFrame | None = None,
             model_keys: tuple[str, ...] = ()) -> dict | None:
    """{"generator": {name: figures}, "category": {...}} for the kinds the set has; None if none.
    images (the per-image table, with a `right {key}` column per model compared): each
    group's figures then also hold each model's accuracy on the group's images."""
    if groups.empty or answers.empty:
        return None
    tagged = answers.merge(groups, on="image_id", how="left").fillna({k: "" for k in KINDS})
    tagged_images = None
    if images is not None and model_keys:
        tagged_images = images.merge(groups, on="image_id", how="left").fillna({k: "" for k in KINDS})
    out = {}
    for kind in KINDS:
        names = sorted(n for n in tagged[kind].unique() if n)
        if names:
            out[kind] = {name: _figures(tagged[tagged[kind] == name], tagged) for name in names}
            if tagged_images is not None:
                for name in names:
                    out[kind][name]["models"] = _model_figures(tagged_images[tagged_images[kind] == name], model_keys)
    return out or None


def _model_figures(images: pd.DataFrame, model_keys: tuple[str, ...]) -> dict:
    """Each model's accuracy on these images (every image of the set's pool, answered or not)."""
    return {key: {"n_images": int(len(images)),
                  "accuracy": float(images[f"right {key}"].astype(float).mean()) if len(images) else None}
            for key in model_keys}


def _figures(rows: pd.DataFrame, everything: pd.DataFrame) -> dict:
    people = int(rows["participant_id"].nunique())
    figures = {"n_people": people, "n_answers": int(len(rows)), "n_images": int(rows["image_id"].nunique()),
               "accuracy": None, "dprime": None, "criterion": None, "paired_with": None}
    if people < MIN_PEOPLE:
        return figures
    figures["accuracy"] = float(rows["correct"].mean())
    labels = set(rows["label"].unique())
    if labels == {FAKE}:  # a generator: its fakes against all the set's real photos
        rows, figures["paired_with"] = pd.concat([rows, everything[everything["label"] == REAL]]), "every real photo"
    elif labels == {REAL}:
        rows, figures["paired_with"] = pd.concat([rows, everything[everything["label"] == FAKE]]), \
            "every AI-generated image"
    detection = scores.signal_detection(*scores.sdt_counts(rows))
    figures["dprime"], figures["criterion"] = detection.dprime, detection.criterion
    return figures


def group_table(data: dict, kind: str) -> pd.DataFrame:
    """One row per generator (or category), as the Results page shows it."""
    rows = []
    for name, f in data.get(kind, {}).items():
        rows.append({kind: name, "people": f["n_people"], "images": f["n_images"], "answers": f["n_answers"],
                     "accuracy": None if f["accuracy"] is None else round(100 * f["accuracy"], 1),
                     "d′": None if f["dprime"] is None else round(f["dprime"], 2),
                     "c": None if f["criterion"] is None else round(f["criterion"], 2),
                     "d′ pairs with": f["paired_with"] or "",
                     **{f"{key} accuracy": None if m["accuracy"] is None else round(100 * m["accuracy"], 1)
                        for key, m in (f.get("models") or {}).items()}})
    return pd.DataFrame(rows)
