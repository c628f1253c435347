"""A small generator of stencil IR following the contract (emu/translator/cnp/__init__.py),
standing in for the translator's real stencils.

The CPU state of the tests is REGS u64 slots; `reg` holes are byte offsets into it.
"""

import re

REGS = 8
RANGE_32 = "!{i64 0, i64 4294967296}"

HOLE = 'ptrtoint (ptr @"__hole.{role}" to i32)'


def _h(role):
    return HOLE.format(role=role)


def _slot(var, role="reg"):
    """IR lines computing %<var> = pointer to the state slot at byte offset <role>."""
    return (f'  %{var}.o = zext i32 {_h(role)} to i64\n'
            f'  %{var} = getelementptr i8, ptr %s, i64 %{var}.o\n')


def _cont(k, name="r"):
    return (f'  %{name} = musttail call i32 @"__cont.{k}"(ptr %s, ptr %e)\n'
            f'  ret i32 %{name}\n')


STENCILS = {
    # s[reg] (u64) = zero-extended imm
    "store_imm": _slot("p") + f'  %v = zext i32 {_h("imm")} to i64\n  store i64 %v, ptr %p\n' + _cont(0),
    # s[reg] (u64) = sign-extended imm
    "store_imm_sext": _slot("p") + f'  %v = sext i32 {_h("imm")} to i64\n  store i64 %v, ptr %p\n' + _cont(0),
    # (u32) s[reg] += imm
    "add_imm": _slot("p") + '  %v = load i32, ptr %p\n'
               f'  %n = add i32 %v, {_h("imm")}\n  store i32 %n, ptr %p\n' + _cont(0),
    # s[reg] (u64) = s[rm] + disp  (two value holes of the same kind in one stencil)
    "add_disp": _slot("d", "reg") + _slot("a", "rm") + '  %v = load i64, ptr %a\n'
                f'  %x = zext i32 {_h("disp")} to i64\n  %n = add i64 %v, %x\n'
                '  store i64 %n, ptr %d\n' + _cont(0),
    # s[reg] = the environment pointer (checks %e is passed through unchanged)
    "store_env": _slot("p") + '  %v = ptrtoint ptr %e to i64\n  store i64 %v, ptr %p\n' + _cont(0),
    # return imm to whoever entered the code (an exit stub)
    "ret_imm": f'  ret i32 {_h("imm")}\n',
    # s[reg] = pyemu_load(s, imm, 4, 0); a negative result leaves through pyemu_dispatch
    "load": f'  %v = call i64 @pyemu_load(ptr %s, i32 {_h("imm")}, i32 4, i32 0)\n'
            + _slot("p") + '  store i64 %v, ptr %p\n  %f = icmp slt i64 %v, 0\n'
            '  br i1 %f, label %bad, label %ok\nbad:\n'
            '  %d = musttail call i32 @pyemu_dispatch(ptr %s, ptr %e)\n  ret i32 %d\nok:\n' + _cont(0),
    # exit 1 if s[reg] == imm, else exit 2
    "branch": _slot("p") + '  %v = load i64, ptr %p\n'
              f'  %x = zext i32 {_h("imm")} to i64\n  %c = icmp eq i64 %v, %x\n'
              '  br i1 %c, label %a, label %b\na:\n' + _cont(1, "r1") + 'b:\n' + _cont(2, "r2"),
    # ++counter (u64 in arena data); s[reg] = the counter's address
    "count": '  %v = load i64, ptr @"__addr.counter"\n  %n = add i64 %v, 1\n'
             '  store i64 %n, ptr @"__addr.counter"\n' + _slot("p")
             + '  %a = ptrtoint ptr @"__addr.counter" to i64\n  store i64 %a, ptr %p\n' + _cont(0),
    # s[reg] = the address of pyemu_load (x86-64: read from a GOT slot, the stub's word)
    "store_fn": _slot("p") + '  %a = ptrtoint ptr @pyemu_load to i64\n  store i64 %a, ptr %p\n' + _cont(0),
    # the four u32 at s[reg] *= (3, 5, 7, 11): a constant pool (rodata) reference
    "vec": _slot("p") + '  %v = load <4 x i32>, ptr %p, align 1\n'
           '  %n = mul <4 x i32> %v, <i32 3, i32 5, i32 7, i32 11>\n'
           '  store <4 x i32> %n, ptr %p, align 1\n' + _cont(0),
}

# Stencils without value holes, for code models that cannot hold them (AArch64 small:
# constants and counters through ADRP + ADD/LDR, runtime addresses through the GOT).
FIXED_SLOT_STENCILS = {
    "count_at_0": '  %v = load i64, ptr @"__addr.counter"\n  %n = add i64 %v, 1\n'
                  '  store i64 %n, ptr @"__addr.counter"\n'
                  '  %a = ptrtoint ptr @"__addr.counter" to i64\n  store i64 %a, ptr %s\n' + _cont(0),
    "vec_at_8": '  %p = getelementptr i8, ptr %s, i64 8\n  %v = load <4 x i32>, ptr %p, align 1\n'
                '  %n = mul <4 x i32> %v, <i32 3, i32 5, i32 7, i32 11>\n'
                '  store <4 x i32> %n, ptr %p, align 1\n' + _cont(0),
    "fn_at_24": '  %p = getelementptr i8, ptr %s, i64 24\n  %a = ptrtoint ptr @pyemu_load to i64\n'
                '  store i64 %a, ptr %p\n' + _cont(0),
}

# Stencils the library build must refuse.
BAD_STENCILS = {
    # an i64 use of a hole: LLVM folds it as a sign-extended 32-bit displacement
    "hole_as_i64": '  %p = getelementptr i8, ptr %s, i64 ptrtoint (ptr @"__hole.reg" to i64)\n'
                   '  store i32 1, ptr %p\n' + _cont(0),
    # a continuation called instead of tail-called
    "called_cont": '  %r = call i32 @"__cont.1"(ptr %s, ptr %e)\n  %q = add i32 %r, 1\n  ret i32 %q\n',
    # a writable global of the module
    "writable": '  %v = load i32, ptr @scratch\n  %n = add i32 %v, 1\n  store i32 %n, ptr @scratch\n'
                + _cont(0),
}

DECLS = {
    "__cont.0": 'declare i32 @"__cont.0"(ptr, ptr)',
    "__cont.1": 'declare i32 @"__cont.1"(ptr, ptr)',
    "__cont.2": 'declare i32 @"__cont.2"(ptr, ptr)',
    "pyemu_load": "declare i64 @pyemu_load(ptr, i32, i32, i32)",
    "pyemu_dispatch": "declare i32 @pyemu_dispatch(ptr, ptr)",
    "__addr.counter": '@"__addr.counter" = external dso_local global i8',
    "scratch": "@scratch = internal global i32 0",
}


def module(names=None, *, bad=(), dso_local_holes=True, triple=None):
    """IR text of a module with the stencils `names` (all good ones by default) and the
    bad ones `bad`.  dso_local_holes=False declares value holes as the first draft of the
    contract did (without dso_local): fine on x86-64, refused for AArch64."""
    names = list(STENCILS) if names is None else list(names)
    bodies = {n: {**STENCILS, **FIXED_SLOT_STENCILS}[n] for n in names}
    bodies.update({n: BAD_STENCILS[n] for n in bad})
    text = "\n".join(bodies.values())
    roles = sorted({r for r in ("imm", "reg", "rm", "disp") if f'@"__hole.{r}"' in text})
    dso = "dso_local " if dso_local_holes else ""
    lines = [f'target triple = "{triple}"'] if triple else []
    lines += [f'@"__hole.{r}" = external {dso}global i8, !absolute_symbol !0' for r in roles]
    lines += [decl for sym, decl in DECLS.items()
              if re.search(r'@"?' + re.escape(sym) + r'"?(?![\w.])', text)]
    for name, body in bodies.items():
        lines.append(f'define i32 @"{name}"(ptr %s, ptr %e) #0 {{\n{body}}}')
    lines.append('attributes #0 = { nounwind "no-jump-tables"="true" "frame-pointer"="none" }')
    lines.append(f"!0 = {RANGE_32}")
    return "\n".join(lines) + "\n"
