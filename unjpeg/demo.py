"""`unjpeg demo`: the main job on shipped defaults, with no training and no download.

Compares plain JPEG, `shipped:l2` and `shipped:gan` on the bundled McMaster samples at quality 10 and 30,
prints the table and the path of the HTML report.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from unjpeg.baselines.precision import CHOICES, PRECISION_HELP

SAMPLES = Path(__file__).parent / "samples"
MODELS = {"l2": "shipped:l2", "gan": "shipped:gan"}
QUALITIES = [10, 30]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="unjpeg-demo", help="report folder (default ./unjpeg-demo)")
    parser.add_argument("--force", action="store_true", help="overwrite an earlier demo report")
    parser.add_argument("--precision", choices=CHOICES, default="auto", help=PRECISION_HELP)


def run(args: argparse.Namespace) -> int:
    from unjpeg.compare import compare, format_table

    metrics = compare(MODELS, SAMPLES, QUALITIES, Path(args.out), force=args.force, precision=args.precision)
    sys.stdout.write(format_table(metrics) + f"\nreport: {Path(args.out).resolve() / 'index.html'}\n")
    return 0
