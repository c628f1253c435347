"""The baseline tier: every block's first translation, made in microseconds by
copy-and-patch (Xu and Kjolstad, "Copy-and-Patch Compilation", OOPSLA 2021).

- variant.py     what a stencil fixes of an instruction (its variant key)
- stencilgen.py  the stencil of a variant, emitted by the instruction's own
                 `op_*` through `g` with its open operands as holes
                 (emu/translator/operands.py)
- stencilset.py  the stencils of this process: built by LLVM on first need,
                 kept on disk per pyemu build and host
- holes.py       the holes' values from decoded records (numba)
- tier.py        a block = head + one stencil per instruction + exits, laid out
                 and patched by emu/translator/cnp in the executable arena

Hot blocks go to LLVM at O2 (translator.py: tier_up), as from LLVM's own
first tier on hosts without this one (x86-64 and AArch64 little-endian only:
translator.baseline_supported; PYEMU_BASELINE=0 forces that fallback).
"""
