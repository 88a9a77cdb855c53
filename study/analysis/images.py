"""Image by image: how people did on each survey image, and the human majority.

The human majority of an image is "AI-generated" when more than half of its
answers said so, "Real photo" when fewer than half did. An exact tie (or an
image nobody answered) has no majority: it is left out of the agreement with
the models and counted as such, never broken at random.
"""
from __future__ import annotations

import base64

import numpy as np
import pandas as pd

from study.labels import FAKE, REAL, class_name
from study.survey.flow import render_png

TABLE_THUMB_PX = 64  # 2x of 32: whole pixels in a row of the Results page's image table


def human_majority(share_said_ai: float, n: int) -> float:
    """FAKE (said AI-generated), REAL (said Real photo), as floats, or NaN (a tie,
    or no answers): more than half of the answers is a majority."""
    if n == 0 or np.isnan(share_said_ai) or share_said_ai == 0.5:
        return np.nan
    return float(FAKE) if share_said_ai > 0.5 else float(REAL)


def per_image(images: pd.DataFrame, answers: pd.DataFrame) -> pd.DataFrame:
    """One row per survey image (images: image_id, label, pool_position), in set
    order, with: n answers, n right, share right, share that said AI-generated,
    mean confidence, mean response time (ms) and the human majority."""
    grouped = answers.groupby("image_id")
    stats = pd.DataFrame({
        "n": grouped.size(),
        "n_right": grouped["correct"].sum(),
        "n_said_ai": grouped["answer"].sum(),
        "mean_confidence": grouped["confidence"].mean(),
        "mean_response_ms": grouped["response_ms"].mean(),
    }) if len(answers) else pd.DataFrame(columns=["n", "n_right", "n_said_ai", "mean_confidence", "mean_response_ms"])
    table = images[["pool_position", "image_id", "label"]].merge(
        stats, how="left", left_on="image_id", right_index=True)
    table["n"] = table["n"].fillna(0).astype(int)
    table["n_right"] = table["n_right"].fillna(0).astype(int)
    table["n_said_ai"] = table["n_said_ai"].fillna(0).astype(int)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["share_right"] = np.where(table["n"] > 0, table["n_right"] / table["n"].where(table["n"] > 0), np.nan)
        table["share_said_ai"] = np.where(table["n"] > 0, table["n_said_ai"] / table["n"].where(table["n"] > 0), np.nan)
    table["majority"] = [human_majority(s, n) for s, n in zip(table["share_said_ai"], table["n"])]
    table["true_label"] = table["label"].map(class_name)
    for column in ("mean_confidence", "mean_response_ms"):
        table[column] = table[column].astype(float)
    return table.sort_values("pool_position").reset_index(drop=True)


def thumbnail_data_uri(pixels: np.ndarray, size: int = TABLE_THUMB_PX) -> str:
    """The 32x32 image enlarged with nearest-neighbour, as a PNG data URI that
    st.column_config.ImageColumn shows inline."""
    return png_data_uri(render_png(pixels, size))


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
