"""scripts/render_report.py: a real screenshot when Chromium is installed, the command line with a stand-in."""

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import render_report  # noqa: E402

# A red page with a 40×30 blue box at its top-left corner.
PAGE = (
    '<!doctype html><html><body style="margin:0;background:#f00">'
    '<div style="width:40px;height:30px;background:#00f"></div></body></html>'
)

# Records its arguments and whether the profile folder exists, copies page.png (beside it) to the screenshot
# path, exits with $FAKE_EXIT.
FAKE_BROWSER = """#!{python}
import json, os, sys
from pathlib import Path
args = sys.argv[1:]
value = {{a.split("=", 1)[0]: a.split("=", 1)[1] for a in args if "=" in a}}
record = {{"args": args, "profile_exists": Path(value["--user-data-dir"]).is_dir()}}
Path(sys.argv[0]).with_name("call.json").write_text(json.dumps(record))
Path(value["--screenshot"]).write_bytes(Path(sys.argv[0]).with_name("page.png").read_bytes())
if os.environ.get("FAKE_EXIT", "0") != "0":
    sys.exit("chromium: cannot open display " + os.environ["FAKE_EXIT"])
"""


@pytest.fixture
def report(tmp_path):
    folder = tmp_path / "report"
    folder.mkdir()
    (folder / "index.html").write_text(PAGE)
    return folder


@pytest.fixture
def fake_chromium(tmp_path, monkeypatch):
    """A `chromium` stand-in alone on PATH; returns the folder where it writes call.json."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    browser = bin_dir / "chromium"
    browser.write_text(FAKE_BROWSER.format(python=sys.executable))
    browser.chmod(0o755)
    Image.new("RGB", (2, 3)).save(bin_dir / "page.png")
    monkeypatch.setenv("PATH", str(bin_dir))
    return bin_dir


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs a chromium binary")
def test_screenshot_shows_the_page_at_the_window_size(report, tmp_path, capsys):
    png = tmp_path / "shot.png"
    assert render_report.main([str(report), "--png", str(png), "--size", "400,300"]) == 0
    assert capsys.readouterr().out.strip() == str(png)
    pixels = np.asarray(Image.open(png).convert("RGB")).astype(int)
    assert pixels.shape == (300, 400, 3)
    blue = (pixels[:, :, 2] > 200) & (pixels[:, :, 0] < 60)
    rows, columns = np.nonzero(blue)
    assert blue.sum() == 40 * 30 and rows.max() == 29 and columns.max() == 39
    assert np.all(pixels[100:, 100:] == [255, 0, 0])


@pytest.mark.parametrize("target", ["folder", "file"])
def test_command_is_headless_offline_and_cleans_its_profile(report, tmp_path, fake_chromium, capsys, target):
    png = tmp_path / "out" / ".." / "shot.png"
    page = report if target == "folder" else report / "index.html"
    assert render_report.main([str(page), "--png", str(png), "--size", "640,480"]) == 0
    assert capsys.readouterr().out.strip() == str(png)
    call = json.loads((fake_chromium / "call.json").read_text())
    args = call["args"]
    assert set(render_report.FLAGS) <= set(args) and "--headless" in args
    assert f"--screenshot={png.resolve()}" in args and "--window-size=640,480" in args
    assert args[-1] == (report / "index.html").resolve().as_uri()
    profile = Path(next(a for a in args if a.startswith("--user-data-dir=")).split("=", 1)[1])
    assert call["profile_exists"] and not profile.exists()  # a fresh profile, removed afterwards
    assert Image.open(png.resolve()).size == (2, 3)


def test_browser_failure_is_not_reported_as_success(report, tmp_path, fake_chromium, monkeypatch, capsys):
    monkeypatch.setenv("FAKE_EXIT", "7")
    assert render_report.main([str(report), "--png", str(tmp_path / "shot.png")]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "failed (exit 1): chromium: cannot open display 7" in captured.err


def test_bad_size_is_refused(report, fake_chromium, capsys):
    with pytest.raises(SystemExit) as stop:
        render_report.main([str(report), "--size", "1280x2400"])
    assert stop.value.code == 2
    assert "--size must be WIDTH,HEIGHT in px" in capsys.readouterr().err


def test_missing_page_exits_2(tmp_path, fake_chromium, capsys):
    assert render_report.main([str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err.strip() == f"render_report: no {tmp_path / 'nowhere'}"
    assert render_report.main([str(tmp_path)]) == 2  # a folder without index.html
    assert "index.html" in capsys.readouterr().err
    assert not (fake_chromium / "call.json").exists()


def test_no_browser_on_path_exits_2(report, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert render_report.main([str(report), "--png", str(tmp_path / "shot.png")]) == 2
    assert capsys.readouterr().err.strip() == "render_report: no chromium on PATH"
    assert not (tmp_path / "shot.png").exists()
