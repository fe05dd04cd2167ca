"""The `unjpeg` command: one subcommand per job, each importing its heavy modules only when run."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.abc
import importlib.util
import logging
import os
import sys
import tempfile
import warnings

log = logging.getLogger("unjpeg")

# What TensorFlow's C++ side writes to stderr while it is imported, whatever TF_CPP_MIN_LOG_LEVEL says
# (absl logging is not set up yet): absl's notice of that, and oneDNN's note that it is on, each once per
# TensorFlow shared library. Dropped unless -v is given; any other line is passed on.
START_UP_CHATTER = (
    "All log messages before absl::InitializeLog() is called are written to STDERR",
    "oneDNN custom operations are on",
)

# Each module has add_arguments(parser) and run(args), and imports TensorFlow only inside run.
COMMANDS = {
    "train": ("unjpeg.train_cli", "train a baseline generator with L2 loss"),
    "train-gan": ("unjpeg.train_gan_cli", "fine-tune with L2 + LPIPS + adversarial loss"),
    "compare": ("unjpeg.compare", "score models against plain JPEG; write a report"),
    "restore": ("unjpeg.restore", "restore photos at full resolution"),
    "export": ("unjpeg.export", "export a generator (keras, savedmodel, tflite, onnx)"),
    "demo": ("unjpeg.demo", "compare jpeg, shipped:l2 and shipped:gan on bundled photos"),
}


def chosen_command(argv: list[str] | None) -> str:
    """The subcommand named in `argv` (its first word not starting with '-'), or "" if none is."""
    words = sys.argv[1:] if argv is None else argv
    return next((word for word in words if not word.startswith("-")), "")


def verbose_asked(argv: list[str] | None) -> bool:
    """Whether -v/--verbose comes before the subcommand in `argv` (where the top-level parser takes it)."""
    words = sys.argv[1:] if argv is None else argv
    command = chosen_command(argv)
    before = words[: words.index(command)] if command else words
    return any(word in ("-v", "--verbose") for word in before)


@contextlib.contextmanager
def start_up_chatter_dropped():
    """Hold back what is written to file descriptor 2 (where C++ writes) inside the block, then pass on
    every line of it but START_UP_CHATTER."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to keep clean
        yield
        return
    sys.stderr.flush()
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            lines = held.read().decode(errors="replace").splitlines(keepends=True)
            sys.stderr.writelines(line for line in lines if not any(c in line for c in START_UP_CHATTER))
            sys.stderr.flush()


class QuietTensorFlowImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """A one-shot import hook: TensorFlow, whichever module first imports it, runs its package
    `__init__` inside `start_up_chatter_dropped`. The commands import TensorFlow lazily (never for an
    .onnx model), so the hook waits for that import rather than making it."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "tensorflow":
            return None
        sys.meta_path.remove(self)
        self.spec = importlib.util.find_spec(fullname)
        if self.spec is None or self.spec.loader is None:
            return None
        self.loader, self.spec.loader = self.spec.loader, self
        return self.spec

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = self.spec.loader = self.loader
        with start_up_chatter_dropped():
            self.loader.exec_module(module)


def quiet_libraries() -> None:
    """Keep other libraries' lines off the terminal: TensorFlow's C++ log below ERROR, START_UP_CHATTER,
    and FutureWarnings raised inside libraries (they speak to those libraries' developers)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"(?!unjpeg\b)")
    already = any(isinstance(finder, QuietTensorFlowImport) for finder in sys.meta_path)
    if "tensorflow" not in sys.modules and not already:
        sys.meta_path.insert(0, QuietTensorFlowImport())


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The `unjpeg` parser. Given `command`, only that subcommand's module is imported and its options
    added (none for ""), so `unjpeg restore --model x.onnx` never imports Keras or the training code."""

    parser = argparse.ArgumentParser(prog="unjpeg", description="Remove JPEG compression artifacts.")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="debug logging, and TensorFlow's start-up lines"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    for name, (module_name, summary) in COMMANDS.items():
        command_parser = commands.add_parser(name, help=summary)
        if command in (None, name):
            module = importlib.import_module(module_name)
            module.add_arguments(command_parser)
            command_parser.set_defaults(run=module.run)
    return parser


def configure_logging(verbose: bool) -> None:
    """unjpeg's own INFO lines as "LEVEL message" on stderr; other libraries' (tf2onnx, absl) from WARNING
    up only, unless `verbose`, which shows everything from DEBUG up."""
    logging.basicConfig(format="%(levelname)s %(message)s")
    logging.getLogger().setLevel(logging.DEBUG if verbose else logging.WARNING)
    log.setLevel(logging.DEBUG if verbose else logging.INFO)


def main(argv: list[str] | None = None) -> int:
    if not verbose_asked(argv):
        quiet_libraries()  # before build_parser, which imports the command's module
    args = build_parser(chosen_command(argv)).parse_args(argv)
    configure_logging(args.verbose)
    try:
        code = args.run(args)
    except (ValueError, FileNotFoundError, OSError) as err:
        print(f"unjpeg {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"unjpeg {args.command}: interrupted; rerun with --resume to continue", file=sys.stderr)
        return 130
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
