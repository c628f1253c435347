"""Stock Linux kernels boot to a busybox shell on pyemu, driven through the
guest-session API: the tiny 6.1 kernel in every run, the Debian 686 kernel
marked slow.  The guests come from the project's image builder (emu/images),
built on first use (`.ci/run` builds the tiny one before the tests).

Besides the commands' output, the boot log is checked for the complaints a
kernel makes about badly emulated hardware (issue [pc-linux]).
"""
import re
import time

import pytest

from emu import images

BOOT_TIMEOUT = 900          # seconds; a cold translation cache makes the first boot slow

# what the kernel says when a device or the CPU misbehaves
COMPLAINTS = [
    r"IRQ lockup", r"clocksource.*unstable", r"spurious 8259A interrupt", r"APIC.*error",
    r"Oops", r"BUG:", r"WARNING:", r"Call Trace", r"Kernel panic", r"soft lockup", r"hung task",
    r"timer doesn't work", r"IO-APIC \+ timer doesn't work", r"MP-BIOS bug",
]


def _image(name):
    try:
        return images.ensure(name, quiet=True)
    except images.ImageError as e:
        pytest.fail("cannot build the %s guest image: %s" % (name, e))


def boot(guest_session, name, extra_args=()):
    img = _image(name)
    s = guest_session(kernel=str(img.kernel), initrd=str(img.initrd), append=img.cmdline_hint,
                      extra_args=list(extra_args), timeout=BOOT_TIMEOUT)
    s.expect(r"BOOT-OK: Linux \S+ i686", timeout=BOOT_TIMEOUT)
    s.expect(images.PROMPT_RE, timeout=120)
    return s


def check_shell(s):
    uname = s.run("uname -a", check=True)
    assert re.match(r"Linux \S+ 6\.1\.\S+ .* i686", uname), uname

    cpuinfo = s.run("cat /proc/cpuinfo", check=True)
    assert re.search(r"model name\s*: pyemu virtual CPU", cpuinfo), cpuinfo
    assert re.search(r"^fpu\s*: yes", cpuinfo, re.M), cpuinfo
    flags = re.search(r"^flags\s*: (.*)$", cpuinfo, re.M).group(1).split()
    for f in ("fpu", "tsc", "cx8", "cmov", "pge"):
        assert f in flags, (f, flags)

    entries = s.run("ls /proc", check=True).split()
    for e in ("1", "cpuinfo", "meminfo", "interrupts", "self", "uptime"):
        assert e in entries, (e, entries)

    assert s.run("echo $((6*7))", check=True) == "42"

    # the guest's clock follows the host's: `sleep 1` takes a second, and the
    # guest's own clock agrees
    t0 = time.monotonic()
    out = s.run("a=$(cat /proc/uptime); sleep 1; b=$(cat /proc/uptime); echo $a $b", check=True)
    host = time.monotonic() - t0
    a, b = float(out.split()[0]), float(out.split()[2])
    assert 0.95 <= b - a <= 1.5 + host, out
    assert host >= 0.95, host


def check_boot_log(s):
    dmesg = s.run("dmesg", check=True)
    for pattern in COMPLAINTS:
        hit = re.search(pattern, dmesg)
        assert not hit, "the kernel complained: %r\n%s" % (hit.group(0), dmesg)
    assert re.search(r"ttyS0 at I/O 0x3f8 \(irq = 4, base_baud = 115200\) is a 16550A", dmesg), dmesg
    return dmesg


def test_tiny_kernel_boots_to_a_shell(guest_session):
    s = boot(guest_session, "tiny")
    check_shell(s)
    check_boot_log(s)
    assert s.poweroff() == 0            # reboot -f; pyemu runs with -no-reboot


@pytest.mark.slow
def test_debian_kernel_boots_to_a_shell(guest_session):
    s = boot(guest_session, "debian")
    check_shell(s)
    dmesg = check_boot_log(s)
    # the stock kernel finds the APICs through the MP table and uses them
    assert "Enabling APIC mode" in dmesg or "IOAPIC[0]" in dmesg, dmesg
    assert "IO-APIC" in s.run("cat /proc/interrupts", check=True)
    assert s.poweroff() == 0
