"""The command line's command groups, one module each with register(subparsers)
(study/cli.py assembles them). Only the CLI imports this package. Handlers import
their heavy libraries inside, so that `python -m study --help` stays fast."""
from __future__ import annotations

import json


def emit(result: dict, as_json: bool, lines: list[str]) -> None:
    """Print a command's result: one JSON object on stdout, or readable lines."""
    if as_json:
        print(json.dumps(result, default=str))
    else:
        print("\n".join(lines))
