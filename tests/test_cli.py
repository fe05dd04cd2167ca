import subprocess
import sys

from unjpeg.cli import COMMANDS, chosen_command, main


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
