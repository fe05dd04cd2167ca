import logging
import os
import subprocess
import sys
import warnings

from unjpeg.cli import (
    COMMANDS,
    chosen_command,
    configure_logging,
    main,
    quiet_libraries,
    start_up_chatter_dropped,
    verbose_asked,
)


def test_help_lists_every_command_quickly():
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from unjpeg.cli import main; sys.exit(main(['--help']))"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    for name in COMMANDS:
        assert name in result.stdout


def test_chosen_command_skips_leading_flags():
    assert chosen_command(["-v", "restore", "x.jpg"]) == "restore"
    assert chosen_command(["--help"]) == ""


def test_errors_are_one_line_with_exit_code_2(tmp_path, capsys):
    assert main(["compare", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "r")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("unjpeg compare: error:") and "\n" not in error


def test_verbose_counts_only_before_the_command():
    assert verbose_asked(["-v", "restore", "x.jpg"]) and verbose_asked(["--verbose"])
    assert not verbose_asked(["restore", "x.jpg"]) and not verbose_asked(["restore", "-v"])


def test_start_up_chatter_is_dropped_and_every_other_line_kept(capfd):
    with start_up_chatter_dropped():
        os.write(
            2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        )
        os.write(2, b"I0000 port.cc:153] oneDNN custom operations are on. You may see slightly different\n")
        os.write(2, b"E0000 something that went wrong\n")
    assert capfd.readouterr().err == "E0000 something that went wrong\n"


def test_logging_shows_unjpegs_info_and_only_warnings_of_other_libraries():
    saved = [(logger, logger.level) for logger in (logging.getLogger(), logging.getLogger("unjpeg"))]
    try:
        configure_logging(verbose=False)
        assert logging.getLogger("unjpeg.sources").isEnabledFor(logging.INFO)
        assert not logging.getLogger("tf2onnx").isEnabledFor(logging.INFO)
        assert logging.getLogger("tf2onnx").isEnabledFor(logging.WARNING)
        configure_logging(verbose=True)
        assert logging.getLogger("tf2onnx").isEnabledFor(logging.DEBUG)
    finally:
        for logger, level in saved:
            logger.setLevel(level)


def test_future_warnings_of_libraries_are_hidden_and_unjpegs_kept():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet_libraries()
        warnings.warn_explicit("np.object", FutureWarning, "tf2onnx_lib.py", 21, module="keras.src.export")
        warnings.warn_explicit("a flag goes", FutureWarning, "options.py", 1, module="unjpeg.options")
    assert [str(warning.message) for warning in caught] == ["a flag goes"]
