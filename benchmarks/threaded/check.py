"""Does the threaded prototype run real programs?  The tests/guests programs
(self-checking, bare metal) and the benchmark workloads on the threaded
handlers and on the copy-and-patch blocks, through the same run loop
(driver.py): same serial output, same instructions retired.

    python benchmarks/threaded/check.py [NAME ...]

Left out of the prototype, so expected to differ or stop: self-modifying
code (smc_*: no code-page invalidation of records, so the program runs on
stale records until the budget runs out), and whatever needs the product's
run loop (timers, interrupts from devices, resets), single-stepping
(EFLAGS.TF: the product makes one-instruction LLVM blocks for it), and the
jump cache's flush on CR3 loads and INVLPG (the prototype's own jump cache
is never flushed, so a remapped page runs stale records).  Programs that
poll a clock (devices) retire a different number of instructions on every
run.

Measured: alu bcd bits checksum cond exit mbinfo muldiv shift stack string
x87 sys_log sys_nmi sys_rings sys_sdm sys_segments sys_tasks sys_triple
sys_vm86 the same; devices the same output (it polls the RTC); smc_loop,
smc_next, sys_paging (code patched through an alias), sys_pae (a fetch from
a page made no-execute), sys_exceptions (TF single-step) differ, as the
omissions above predict.
"""
import pathlib
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
sys.path.append(str(ROOT / "tests" / "guests"))


BUDGET = 300_000_000         # instructions: a program that runs longer is reported, not waited for


def main():
    import guestlib
    import driver
    import handlers
    from emu.translator.runtime import runtime
    runtime()
    names = sys.argv[1:] or sorted(p.stem for p in (ROOT / "tests" / "guests" / "src").glob("*.S"))
    hs = handlers.HandlerSet()
    ok = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            try:
                elf = guestlib.build(name, tmp).read_bytes()
            except Exception as e:      # noqa: BLE001 - reported, not fatal
                print("%-16s not built: %s" % (name, str(e).splitlines()[0][:80]))
                continue
            got = {}
            for label, make in (("cnp", lambda: driver.ProductDriver(elf, 0)),
                                ("threaded", lambda: driver.ThreadedDriver(elf, hs))):
                d = make()
                t0 = time.perf_counter()
                try:
                    r = d.run(budget=BUDGET)
                    got[label] = (r.insns, r.output, d.m.exit_status)
                except Exception as e:  # noqa: BLE001
                    got[label] = ("error", str(e)[:100], None)
                finally:
                    d.close()
                got[label + "_s"] = time.perf_counter() - t0
            same = got["cnp"] == got["threaded"]
            ok += same
            print("%-16s %s  %s insns, exit %r%s" % (
                name, "same" if same else "DIFFER", got["cnp"][0], got["cnp"][2],
                "" if same else "\n    cnp:      %r\n    threaded: %r" % (got["cnp"][:2], got["threaded"][:2])))
    print("%d of %d programs: the same output and instruction count on both" % (ok, len(names)))


if __name__ == "__main__":
    main()
