"""The notice pyemu prints on a terminal while numba compiles its native code.

The first run of a pyemu build spends about a minute compiling before the
guest prints anything; a user at a terminal must not take that for a hang.
The notice goes to stderr only when stderr is a terminal, so scripts and
logs are unchanged."""
import io

import emu
from emu import cli


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _run_not_a_kernel(tmp_path, monkeypatch, cold, stderr):
    monkeypatch.setattr(emu, "numba_cache_cold", cold)
    monkeypatch.setattr("sys.stderr", stderr)
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\x90" * 4096)
    return cli.main(["-kernel", str(garbage), "-nographic", "-serial", "null"])


def test_cold_cache_on_a_terminal_says_what_takes_a_minute(tmp_path, monkeypatch):
    err = _Terminal()
    assert _run_not_a_kernel(tmp_path, monkeypatch, True, err) == 1
    lines = err.getvalue().splitlines()
    assert lines[0].startswith("pyemu: first run of this pyemu build: compiling its native code")
    assert str(emu.cache_root()) in lines[0]
    assert "is not a kernel pyemu can boot" in lines[1]


def test_warm_cache_or_no_terminal_prints_no_notice(tmp_path, monkeypatch):
    for cold, err in ((False, _Terminal()), (True, io.StringIO())):
        assert _run_not_a_kernel(tmp_path, monkeypatch, cold, err) == 1
        assert "first run" not in err.getvalue()
        assert "is not a kernel pyemu can boot" in err.getvalue()
