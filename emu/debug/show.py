"""Show one block at every stage of translation: guest asm, decoded records, the
baseline tier's stencils (what pyemu runs first), LLVM IR, optimised IR, host
assembly (what a hot block becomes).  For teaching and debugging; no machine
is needed.

    >>> from emu.debug.show import show_block
    >>> view = show_block(bytes.fromhex("01d8 c3"))
    >>> print(view.ir)

CLI: pyemu show 'b8 2a 00 00 00 01 c8 c3' [--address 0x1000] [--16] [--stage ir]
     pyemu show --asm 'add eax, ebx; jc done; inc ecx; done: ret'
"""
import argparse
import sys
from dataclasses import dataclass

import llvmlite.binding as llvm

from ..cpu import hflags as H
from ..frontend import tables as T
from ..frontend.asm import AsmError, assemble
from ..frontend.decoder import decode
from ..frontend.disasm import format_listing
from ..translator.block import Insn, emit_block
from ..translator.jit import JitEngine, _run_passes
from .stencilview import baseline_view

STAGES = ("guest", "decoded", "baseline", "ir", "opt", "host")


@dataclass
class BlockView:
    guest_asm: str        # capstone listing
    decoded: str          # the decoder's records, one per line
    baseline: str         # the block of stencils (emu/debug/stencilview.py)
    ir: str               # LLVM IR as the translator emits it
    optimized_ir: str     # after LLVM's O2 pipeline
    host_asm: str         # host machine code

    def stage(self, name):
        return {"guest": self.guest_asm, "decoded": self.decoded, "baseline": self.baseline, "ir": self.ir,
                "opt": self.optimized_ir, "host": self.host_asm}[name]

    def __str__(self):
        return "\n\n".join("== %s ==\n%s" % (title, text) for title, text in (
            ("guest instructions", self.guest_asm), ("decoded records", self.decoded),
            ("baseline tier: the stencils the block is made of (copy-and-patch)", self.baseline),
            ("LLVM IR (a hot block, compiled at O2)", self.ir), ("optimised LLVM IR", self.optimized_ir),
            ("host assembly", self.host_asm)))


def _describe(rec):
    form = T.FORMS[rec["form"]] if rec["form"] >= 0 else None
    fields = ["eip=%#x" % rec["eip"], "len=%d" % rec["length"]]
    if rec["error"]:
        fields.append("error=%d (%s)" % (rec["error"], {1: "#UD", 2: "#GP too long", 3: "truncated"}[rec["error"]]))
    if form:
        fields.append("form=%d %s %s %s" % (form.index, form.opcode, form.mnemonic, form.operand_text))
        fields.append("opsize=%d addrsize=%d" % (rec["opsize"], rec["addrsize"]))
        if form.has(T.A_MODRM):
            fields.append("mod=%d reg=%d rm=%d" % (rec["mod"], rec["reg"], rec["rm"]))
            if rec["mod"] != 3:
                fields.append("base=%d index=%d scale=%d disp=%#x seg=%d" % (
                    rec["base"], rec["index"], 1 << rec["scale"], int(rec["disp"]) & 0xFFFFFFFF, rec["seg"]))
        if rec["immsize"]:
            fields.append("imm=%#x" % rec["imm"])
    return " ".join(fields)


def show_block(code, address=0x1000, bits=32, cpl=0):
    """Translate the block at the start of `code` (as if it sat at `address`) and show every stage."""
    code = bytes(code)
    recs = decode(code, address, bits == 32)
    insns = []
    offset = 0
    for i, rec in enumerate(recs):
        n = int(rec["length"])
        if rec["error"] == T.ERR_TRUNCATED:
            break
        insns.append(Insn(rec, i, code[offset:offset + n]))
        offset += n
    if not insns:
        raise ValueError("no complete instruction at the start of the code")
    hflags = (H.HF_CS32 | H.HF_SS32 | H.HF_PE if bits == 32 else 0) | cpl
    module, _ = emit_block(insns, "tb_%x" % address, address, 0, hflags)
    ir_text = str(module)
    engine = JitEngine()
    mod = llvm.parse_assembly(ir_text)
    mod.triple = engine.triple
    mod.data_layout = engine.data_layout
    _run_passes(mod, engine.target_machine, 2)
    return BlockView(
        guest_asm=format_listing(code[:offset], address, bits),
        decoded="\n".join(_describe(r) for r in recs[:len(insns)]),
        baseline=baseline_view(code, address, bits, cpl),
        ir=ir_text,
        optimized_ir=str(mod),
        host_asm=engine.target_machine.emit_assembly(mod))


def main(argv):
    p = argparse.ArgumentParser(prog="pyemu show",
                                description="Show how pyemu translates one block of x86 code.")
    p.add_argument("hex", nargs="?", help="the guest code as hex bytes, e.g. '01 d8 c3'")
    p.add_argument("--asm", metavar="TEXT", help="the guest code as assembly (Intel syntax, ';' between "
                                                 "instructions), assembled with keystone")
    p.add_argument("--address", default="0x1000", help="guest address of the first byte (default 0x1000)")
    p.add_argument("--16", dest="bits16", action="store_true", help="16-bit code (default 32-bit)")
    p.add_argument("--stage", choices=STAGES, action="append",
                   help="show only these stages (repeatable): " + ", ".join(STAGES))
    args = p.parse_args(argv)
    if (args.hex is None) == (args.asm is None):
        p.error("give the code either as hex bytes or with --asm")
    bits = 16 if args.bits16 else 32
    if args.asm is not None:
        try:
            code = assemble(args.asm, int(args.address, 0), bits)
        except AsmError as e:
            sys.stderr.write("pyemu show: %s\n" % e)
            return 1
    else:
        try:
            code = bytes.fromhex(args.hex.replace(",", " "))
        except ValueError:
            sys.stderr.write("pyemu show: '%s' is not hex bytes\n" % args.hex)
            return 1
    try:
        view = show_block(code, int(args.address, 0), bits)
    except ValueError as e:
        sys.stderr.write("pyemu show: %s\n" % e)
        return 1
    if args.stage:
        for s in args.stage:
            print(view.stage(s))
    else:
        print(view)
    return 0
