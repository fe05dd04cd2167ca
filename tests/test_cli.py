import os
import subprocess
import sys

from unjpeg.cli import COMMANDS, chosen_command, main, start_up_chatter_dropped, verbose_asked


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
