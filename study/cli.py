"""`python -m study ...`: the command line. Each command group lives in
study/commands/<name>.py with a register(subparsers) function; this file only
assembles them and turns a StudyError into one line on stderr and exit code 2."""
from __future__ import annotations

import argparse
import sys

from study.commands import data, explain, init, jobs, models, reproduce, results, survey, train
from study.errors import StudyError

# Command groups, in the order `--help` lists them. Each module imports its heavy
# libraries inside its handlers, so building the parser (and --help) stays fast.
COMMAND_MODULES = [init, data, survey, models, train, results, jobs, reproduce, explain]


class OneLineParser(argparse.ArgumentParser):
    """argparse prints its usage block on a bad argument; we print one line."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python -m study",
        description="CIFAKE human-vs-model study: data, survey, models, experiments.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    sub.required = True
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except StudyError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
