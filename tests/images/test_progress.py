"""Status output and the build log."""
import io
import sys

import pytest

from emu.images.errors import ImageError
from emu.images.progress import Reporter


def test_output_goes_to_the_log_and_a_failure_shows_its_end(tmp_path):
    out = io.StringIO()
    r = Reporter(stream=out)
    r.open_log(tmp_path / "logs" / "x.log")
    script = "import sys\nfor i in range(100): print('line', i)\nsys.exit(3)"
    with pytest.raises(ImageError) as e:
        r.run([sys.executable, "-c", script], "the step")
    r.close_log()
    log = (tmp_path / "logs" / "x.log").read_text()
    assert "line 0\n" in log and "line 99\n" in log and "exit status 3" in log
    assert e.value.details[-1] == "line 99" and len(e.value.details) < 100
    assert "the step failed (exit status 3)" in str(e.value) and str(tmp_path / "logs" / "x.log") in str(e.value)


def test_on_line_status_and_unchecked_run(tmp_path):
    seen = []
    r = Reporter(quiet=True)
    rc, tail = r.run([sys.executable, "-c", "print('  CC kernel/fork.o'); raise SystemExit(1)"],
                     "make", on_line=lambda line: seen.append(line), check=False)
    assert rc == 1 and tail == ["  CC kernel/fork.o"] and seen == tail


def test_quiet_keeps_only_warnings(tmp_path):
    out = io.StringIO()
    r = Reporter(quiet=True, stream=out)
    r.step("downloading")
    r.warn("lists are old")
    assert out.getvalue() == "pyemu-images: warning: lists are old\n"
    loud = io.StringIO()
    Reporter(stream=loud).step("downloading")
    assert loud.getvalue() == "pyemu-images: downloading\n"


def test_a_lookup_writes_no_log(tmp_path):
    r = Reporter(quiet=True)
    r.open_log(tmp_path / "x.log")
    r.close_log()
    assert not (tmp_path / "x.log").exists()


def test_a_missing_program_is_an_image_error():
    with pytest.raises(ImageError, match="cannot run"):
        Reporter(quiet=True).run(["/nonexistent/program"], "x")
