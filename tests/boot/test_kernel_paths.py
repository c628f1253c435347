"""The kpaths program (benchmarks/kernel_paths.py's workload) in the tiny guest:
every row runs to its end, so the kernel paths it times (INT 0x80 and the
vDSO's SYSENTER, page faults, fork, exec, pipes, /dev/zero; segment loads on
every kernel entry and exit) work under pyemu."""
import pytest

from emu import images

from .kpathslib import ROW_NAMES, build_kpaths, initrd_with_kpaths, row_pattern

# iterations per row: a few of each path, seconds in all
COUNTS = {"int80": 300, "vdso": 300, "fault": 100, "fork": 5, "exec": 3, "pipe": 50, "zero": 1}


@pytest.fixture(scope="module")
def kpaths_initrd(tmp_path_factory):
    img = images.ensure("tiny")
    d = tmp_path_factory.mktemp("kpaths")
    return img, initrd_with_kpaths(img.initrd, build_kpaths(d), d)


def test_every_row_runs_to_its_end(guest_session, kpaths_initrd):
    img, initrd = kpaths_initrd
    s = guest_session(kernel=img.kernel, initrd=initrd, append=img.cmdline_hint, timeout=300)
    s.expect(images.PROMPT_RE)
    for row in ROW_NAMES:
        n = COUNTS[row]
        s.sendline("/kpaths %s %d" % (row, n))
        m = s.expect(row_pattern(row, n))
        assert m.group(2) is not None, m.group(1).decode()
        s.expect(images.PROMPT_RE)
    # an unknown row is refused: the pattern above tells an error from an end
    s.sendline("/kpaths nosuch 1")
    m = s.expect(row_pattern("nosuch", 1))
    assert m.group(2) is None and b"unknown row" in m.group(1)
