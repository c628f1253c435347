"""-d logging (QEMU's item names): in_asm, op, op_opt, out_asm, exec, int, cpu; and
stats, a summary at exit (written by emu/debug/stats.py through this log)."""
import sys

from ..cpu import hflags as H
from ..frontend.disasm import format_listing


class Log:
    def __init__(self, items, out, owns_out):
        self.items = frozenset(items)
        self.out = out
        self.owns_out = owns_out

    def enabled(self, item):
        return item in self.items

    def write(self, text):
        self.out.write(text)
        if not text.endswith("\n"):
            self.out.write("\n")
        self.out.flush()

    def block_translated(self, tb, insns, ir_text, llmod, engine):
        bits = 32 if tb.key[2] & H.HF_CS32 else 16
        head = "---- block %s: linear %#010x phys %#010x, %d instructions" % (
            tb.name, tb.linear, tb.key[0], tb.n_insns)
        parts = [head]
        if "in_asm" in self.items:
            code = b"".join(i.bytes for i in insns)
            parts.append("IN:\n" + format_listing(code, tb.eip, bits))
        if "op" in self.items:
            parts.append("OP (LLVM IR):\n" + ir_text)
        if "op_opt" in self.items:
            parts.append("OP after optimisation:\n" + str(llmod))
        if "out_asm" in self.items:
            parts.append("OUT (host assembly):\n" + engine.host_asm(ir_text))
        if len(parts) > 1:
            self.write("\n".join(parts) + "\n")

    def block_executed(self, linear, eip, cs_sel):
        self.write("Trace: %04x:%08x [%08x]" % (cs_sel, eip, linear))

    def close(self):
        if self.owns_out:
            self.out.close()


def open_log(items, path):
    if not items:
        return None
    if path:
        return Log(items, open(path, "w"), True)
    return Log(items, sys.stderr, False)
