"""How the pages write numbers: one place, so that a share reads the same on
every page. "–" stands for a figure that is missing (nobody answered, not measured)."""
from __future__ import annotations

import math

import streamlit as st

MISSING = "–"


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def pct(fraction, digits: int = 1) -> str:
    """A fraction (0..1) as a percentage: pct(0.5643) == "56.4%"."""
    return MISSING if _missing(fraction) else f"{100 * float(fraction):.{digits}f}%"


def number(value, digits: int = 2) -> str:
    """number(8.456) == "8.46"; number(1234.4, 0) == "1234"."""
    return MISSING if _missing(value) else f"{float(value):.{digits}f}"


def percent_columns(*names: str) -> dict:
    """st.dataframe column_config for columns of percentages (85.12, not 0.8512),
    shown with two decimals and a % sign ("85.12%", "50.00%") and sorted as numbers."""
    return {name: st.column_config.NumberColumn(name, format="%.2f%%") for name in names}
