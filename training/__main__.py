"""Command line: ``python -m training {simulate,train,cv,evaluate,export,...} --help``.

This module only parses arguments; each subcommand lives in its own module, which provides
``add_arguments(parser)`` and ``main(args) -> int`` (imported lazily, so ``--help`` is fast).
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: subcommand → (module, one-line help). Each module defines add_arguments(parser) and main(args).
COMMANDS: dict[str, tuple[str, str]] = {
    "simulate": ("training.simulate", "make synthetic bright-field plates with known OD450 and IC50"),
    "train": ("training.train", "train a model on a dataset (manifest.csv + images)"),
    "cv": ("training.cv", "4-fold cross-validation by dose series (the paper's Tables S1/S2)"),
    "evaluate": ("training.evaluate", "score trained models on test series: the paper's Tables 1 and 2"),
    "export": ("training.export", "convert a trained model to TF.js with its model card for the app"),
    "reproduce": ("training.reproduce", "rebuild the app's three default models and the paper's tables"),
}


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subparser per command."""
    parser = argparse.ArgumentParser(
        prog="python -m training",
        description="nostain training: from microscope images + CCK-8 OD450 readings to a model for the app.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        sub_parser = sub.add_parser(name, help=help_text, description=module.__doc__)
        module.add_arguments(sub_parser)
        sub_parser.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen subcommand; returns the process exit code."""
    args = build_parser().parse_args(argv)
    return int(args._module.main(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
