"""Running a machine under the monitor: what emu/cli.py calls for -monitor and -qmp.

It puts the human monitor (emu/debug/monitor.py) on stdio and the QMP servers
(emu/debug/qmp.py, which uses the human monitor for human-monitor-command) on
their sockets, and drives the machine with Monitor.serve().
"""
import os

from ..console import attached
from ..devices.chardev import parse_spec
from .monitor import Monitor, attach_stdio, detach_stdio
from .qmp import QmpServer


def wanted(cfg, stdin_is_terminal=None):
    """Whether a run of cfg needs the monitor, and how the human monitor sits on
    stdio: (qmp specs, "own" | "mux" | None).  Decided before the machine is
    built, from the options: -monitor stdio (or -serial mon:stdio) shares stdio
    with a console on stdio ("mux") or has it alone ("own"); with no -monitor
    option, a console on a terminal gets the monitor on C-a c as with QEMU's
    -nographic; -monitor none has none."""
    qmp = list(getattr(cfg, "qmp", None) or ())
    spec = getattr(cfg, "monitor", None)
    stdio_console = "stdio" in [_kind(s) for s in list(cfg.serial) + ([cfg.debugcon] if cfg.debugcon else [])]
    explicit = spec in ("stdio", "mon:stdio") or "mon:stdio" in cfg.serial
    if spec in ("none", "null") and "mon:stdio" not in cfg.serial:
        mode = None
    elif explicit:
        mode = "mux" if stdio_console else "own"
    elif spec is None and stdio_console and getattr(cfg, "gdb", None) is None:
        if stdin_is_terminal is None:
            try:
                stdin_is_terminal = os.isatty(0)
            except OSError:
                stdin_is_terminal = False
        mode = "mux" if stdin_is_terminal else None
    else:
        mode = None
    return qmp, mode


def _kind(spec):
    try:
        return parse_spec(spec)[0]
    except ValueError:
        return None


def run_monitored(machine, cfg, qmp_specs, mode, guest_starts, UsageError):
    """Run machine under the monitor (from emu/cli.py run_config, inside its
    try/finally that closes the machine); returns the exit status.  UsageError:
    the command line's one-line error (emu/cli.py may run as __main__, so it is
    passed rather than imported)."""
    mon = Monitor(machine, start_running=not getattr(cfg, "gdb_wait", False))
    servers = []
    try:
        for spec in qmp_specs:
            srv = QmpServer(mon, spec)
            try:
                srv.listen()
            except OSError as e:
                raise UsageError("cannot listen for QMP on %s: %s" % (spec, e.strerror or e)) from None
            servers.append(srv)
        if mode is not None:
            attach_stdio(mon, machine, mode)
        with attached(machine):             # back ends started, terminal and signals handled
            for srv in servers:
                srv.start()                 # without nowait: waits for the first client here
            guest_starts()
            return mon.serve()
    finally:
        mon.finished = True
        detach_stdio()
        for srv in servers:
            srv.close()
