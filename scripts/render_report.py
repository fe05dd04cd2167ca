"""Screenshot a `unjpeg compare` report (index.html) with headless Chromium, to check its layout by eye.

Run from the repository root: `python -m scripts.render_report report/ [--png /tmp/report.png] [--size 1280,2400]`.
Needs a Chromium binary (Debian: `apt-get install chromium`); nothing is fetched, the page has no external resources.
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="report folder (holds index.html) or the HTML file")
    parser.add_argument("--png", type=Path, default=Path("/tmp/report.png"), help="screenshot to write")
    parser.add_argument("--size", default="1280,2400", help="window WIDTH,HEIGHT in px (default 1280,2400)")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[1-9]\d*,[1-9]\d*", args.size):
        parser.error(f"--size must be WIDTH,HEIGHT in px, e.g. 1280,2400; got {args.size!r}")
    page = args.report / "index.html" if args.report.is_dir() else args.report
    browser = next(
        (shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None
    )
    if not page.is_file() or browser is None:
        print(
            f"render_report: {'no ' + str(page) if not page.is_file() else 'no chromium on PATH'}",
            file=sys.stderr,
        )
        return 2
    with tempfile.TemporaryDirectory() as profile:
        command = [browser, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={args.png.resolve()}"]
        command += [f"--window-size={args.size}", page.resolve().as_uri()]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0 or not args.png.resolve().is_file():
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"render_report: {browser} failed (exit {done.returncode}): {last}", file=sys.stderr)
        return 1
    print(args.png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
