"""A coarse device class from the browser's User-Agent, stored per participant (iPadOS
Safari says it is a Mac, so those iPads count as desktops):
published studies find people on phones score lower, so results can be split by it.
Only the class is kept, never the User-Agent string itself."""
from __future__ import annotations

import re

DEVICE_CLASSES = ("desktop", "mobile", "tablet")
_TABLET = re.compile(r"iPad|Tablet|PlayBook|Silk|Kindle|(Android(?!.*Mobile))", re.IGNORECASE)
_MOBILE = re.compile(r"Mobi|iPhone|iPod|Android.*Mobile|Windows Phone|BlackBerry|Opera Mini", re.IGNORECASE)


def device_class(user_agent: str | None) -> str | None:
    """desktop, mobile or tablet; None when the browser did not say."""
    if not user_agent:
        return None
    if _TABLET.search(user_agent):
        return "tablet"
    if _MOBILE.search(user_agent):
        return "mobile"
    return "desktop"
