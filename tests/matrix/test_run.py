"""Matrices run on a local Dask cluster (emu/matrix/runner.py, cli.py): the tiny Linux
guest with tests that pass, fail, and hang; a wedged worker cut off by the caller's
outer deadline; the command line with its JUnit report.  No process is left over."""
import os
import pathlib
import textwrap
import time
import uuid
import xml.etree.ElementTree as ET

import pytest

from emu import images
from emu.matrix import Result, load_matrix, run_matrix
from emu.matrix import runner
from emu.matrix.cli import main as cli_main
from emu.matrix.report import write_junit

SCRIPT = """\
#!/bin/sh
# typed in over the console: 'quotes', %percent, \\backslash,	a tab
n=0
for w in one two three; do n=$((n+1)); done
printf 'words=%d pct=100%% cpu=%s\\n' "$n" "$(uname -m)"
exit 3
"""


@pytest.fixture(scope="module")
def tiny():
    try:
        return images.ensure("tiny", quiet=True)
    except images.ImageError as e:
        pytest.fail("cannot build the tiny guest image: %s" % e)


def processes_with(marker):
    """pids whose command line contains marker."""
    found = []
    for d in pathlib.Path("/proc").iterdir():
        if d.name.isdigit() and int(d.name) != os.getpid():
            try:
                if marker.encode() in (d / "cmdline").read_bytes():
                    found.append(int(d.name))
            except OSError:
                pass
    return found


def assert_none_left(marker, within=10):
    deadline = time.monotonic() + within
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_with(marker) == [], "processes left over: %s" % processes_with(marker)


def matrix_file(tmp_path, tiny, marker, tests):
    (tmp_path / "checks").mkdir(exist_ok=True)
    (tmp_path / "checks" / "words.sh").write_text(SCRIPT)
    text = textwrap.dedent("""
        [defaults]
        timeout = 60
        boot_timeout = 600      # a cold translation cache makes the first boot slow

        [[config]]
        name = "tiny"
        kernel = "%s"
        initrd = "%s"
        # the marker lets the test find its own pyemu processes among everyone's
        append = "console=ttyS0 panic=-1 pyemu_matrix_test=%s"
    """) % (tiny.kernel, tiny.initrd, marker) + textwrap.dedent(tests)
    path = tmp_path / "matrix.toml"
    path.write_text(text)
    return path


def test_tiny_guest_matrix_on_two_workers(tmp_path, tiny):
    marker = uuid.uuid4().hex
    path = matrix_file(tmp_path, tiny, marker, """
        [[test]]
        name = "uname"
        command = "uname -s; cat /proc/cmdline"
        expect_output = "^Linux$"

        [[test]]
        name = "script"
        script = "checks/words.sh"      # relative to the matrix file
        expect_status = 3
        expect_output = "^words=3 pct=100% cpu=i686$"

        [[test]]
        name = "wrong-status"
        command = "echo nope; (exit 2)"

        [[test]]
        name = "hang"
        command = "sleep 1000"
        timeout = 20
    """)
    calls = []
    t0 = time.monotonic()
    results = run_matrix(load_matrix(path), workers=2, logs=tmp_path / "logs",
                         progress=lambda *a: calls.append(a))
    wall = time.monotonic() - t0
    by = {r.test: r for r in results}
    assert [r.name for r in results] == ["tiny/uname", "tiny/script", "tiny/wrong-status", "tiny/hang"]
    assert all(isinstance(r, Result) for r in results)
    report = "\n".join("%s %s %s %r" % (r.name, r.status, r.message, r.output) for r in results)

    r = by["uname"]
    assert r.status == "passed", report
    assert r.exit_status == 0 and r.output.splitlines()[0] == "Linux"
    assert "pyemu_matrix_test=%s" % marker in r.output           # the configuration's command line
    assert "BOOT-OK: Linux" in r.console and r.phase == "done" and r.emulator_status == 0
    assert r.duration > 0 and r.worker

    r = by["script"]
    assert r.status == "passed", report
    assert r.exit_status == 3 and r.output == "words=3 pct=100% cpu=i686"

    r = by["wrong-status"]
    assert r.status == "failed", report
    assert r.exit_status == 2 and r.output == "nope"
    assert r.message == "exit status 2, expected 0"

    r = by["hang"]
    assert r.status == "timeout", report
    assert r.exit_status is None and r.phase == "command"
    assert "within 20s" in r.message and "sleep 1000" in r.console
    assert 20 <= r.duration < 20 + 600

    # two workers ran them: more than one process, at the same time
    assert len({r.worker for r in results}) == 2, report
    assert wall < sum(r.duration for r in results)

    # logs, the progress callback, the JUnit report
    for r in results:
        assert pathlib.Path(r.log_path).read_bytes().decode() == r.console
    assert (tmp_path / "logs" / "tiny" / "hang.log").exists()
    assert calls[-1][:3] == (4, 4, 2)
    write_junit(results, tmp_path / "junit.xml")
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "1", "1")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert cases["wrong-status"].find("failure") is not None
    assert cases["hang"].find("error").get("type") == "timeout"
    assert cases["uname"].find("failure") is None and cases["uname"].find("error") is None

    assert_none_left(marker)


def test_cli_run(tmp_path, tiny, capsys):
    marker = uuid.uuid4().hex
    path = matrix_file(tmp_path, tiny, marker, """
        [[test]]
        name = "fails"
        command = "echo out-$((40+2)); false"
    """)
    status = cli_main(["run", str(path), "--workers", "1", "--junit", str(tmp_path / "j.xml"),
                       "--logs", str(tmp_path / "logs"), "--timeout", "45"])
    out = capsys.readouterr().out
    assert status == 1, out
    assert "FAILED tiny/fails" in out and "exit status 1, expected 0" in out and "out-42" in out
    assert "1 tests: 0 passed, 1 failed, 0 timeout, 0 error in" in out
    assert (tmp_path / "logs" / "tiny" / "fails.log").read_text().count("BOOT-OK") == 1
    suite = ET.parse(tmp_path / "j.xml").getroot().find("testsuite")
    assert suite.get("failures") == "1"
    assert_none_left(marker)


def wedge(case, task_id, topic):
    """A task that hangs its worker: it starts a process as a guest would and never returns."""
    if case.test.name != "wedge":
        return Result(config=case.config.name, test=case.test.name, status="passed", output="quick")
    from emu.session import GuestSession
    s = GuestSession(["sh", "-c", case.test.command])
    runner._report(topic, {"id": task_id, "event": "start", "worker": "w", "address": runner._worker_address()})
    runner._report(topic, {"id": task_id, "event": "guest", "pid": s.proc.pid, "host": runner.socket.gethostname()})
    time.sleep(3600)


def test_a_wedged_worker_cannot_hang_the_run(tmp_path, monkeypatch):
    marker = uuid.uuid4().hex
    (tmp_path / "k").write_bytes(b"")
    path = tmp_path / "m.toml"
    path.write_text(textwrap.dedent("""
        [[config]]
        name = "c"
        kernel = "k"
        boot_timeout = 1
        [[test]]
        name = "wedge"
        command = "sleep 1000; : %s"
        timeout = 1
        [[test]]
        name = "quick"
        command = "true"
    """ % marker))
    # the caller's deadline: boot 1 + test 1 + poweroff 0 + grace 3 seconds
    monkeypatch.setattr(runner, "POWEROFF_TIMEOUT", 0)
    monkeypatch.setattr(runner, "CALLER_GRACE", 3)
    t0 = time.monotonic()
    results = run_matrix(path, workers=2, task=wedge)
    assert time.monotonic() - t0 < 60
    wedged, quick = results
    assert quick.status == "passed" and quick.output == "quick"
    assert wedged.status == "timeout" and wedged.phase == "outer", wedged
    assert "did not return the task within 5s" in wedged.message
    assert_none_left(marker)


def test_restore_starts_every_case_from_one_boot(tmp_path, tiny):
    """restore = true: the configuration boots once (its snapshot kept in the
    cache, emu/booted.py), and each case starts from that boot's prompt."""
    marker = uuid.uuid4().hex
    path = matrix_file(tmp_path, tiny, marker, """
        [[test]]
        name = "uname"
        command = "uname -s"
        expect_output = "^Linux$"

        [[test]]
        name = "script"
        script = "checks/words.sh"
        expect_status = 3
    """)
    text = path.read_text().replace('name = "tiny"\n', 'name = "tiny"\nrestore = true\n', 1)
    path.write_text(text)
    results = run_matrix(load_matrix(path), workers=2)
    report = "\n".join("%s %s %s %r" % (r.name, r.status, r.message, r.console[-300:]) for r in results)
    assert [r.status for r in results] == ["passed", "passed"], report
    assert results[1].exit_status == 3
    for r in results:
        assert "BOOT-OK" not in r.console, "a case booted instead of starting from the snapshot"
    assert_none_left(marker)
