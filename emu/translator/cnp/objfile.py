"""Library build: stencil IR -> ELF object (LLVM through llvmlite) -> StencilLibrary.

Every function defined in the module is a stencil.  Its bytes are taken from its section
at the symbol's value and size; each relocation in that range is classified by what it
points at (value hole, address hole, continuation, runtime symbol, constant data) and by
its patch kind (relocs.py).  Anything the emitter could not patch correctly is refused
here with StencilBuildError naming the stencil, so a bad stencil never reaches run time:

* a value hole in a field that cannot hold every value 0..2^32-1 (e.g. x86-64
  R_X86_64_32S, which LLVM picks when the hole is used as `ptrtoint ... to i64`);
* a continuation that is called rather than jumped to, or jumped to through a field that
  is not the 4-byte branch displacement ending the instruction;
* references to code or writable data of the object, or to symbols in sections we do not
  lay out;
* any relocation type not in relocs.ELF_KINDS.
"""
import bisect
import hashlib
import io
import threading

import llvmlite
import llvmlite.binding as llvm
import numpy as np

from .contract import (ADDR_PREFIX, AARCH64, CODEGEN, CONT_PREFIX, HOLE_PREFIX, N_CONTS, X86_64,
                       arch_of_triple)
from ..llvm_lock import LLVM_LOCK
from .library import FORMAT_VERSION, StencilLibrary
from .relocs import (CONT_KINDS, ELF_KINDS, GOT_KINDS, KIND_X86_ABS32S, TARGET_ADDR, TARGET_CONT,
                     TARGET_NAMES, TARGET_RODATA, TARGET_RUNTIME, TARGET_VALUE, TRIM_BYTES,
                     VALUE_KINDS)


class StencilBuildError(Exception):
    """The stencil IR cannot be made into a patchable library."""


_init_lock = threading.Lock()
_initialized = False

_ELF_MACHINE = {X86_64: "EM_X86_64", AARCH64: "EM_AARCH64"}


def _init_llvm():
    global _initialized
    with _init_lock:
        if not _initialized:
            llvm.initialize_all_targets()
            llvm.initialize_all_asmprinters()
            _initialized = True


def host_triple():
    return llvm.get_process_triple()


def _codegen(triple, codegen):
    settings = dict(CODEGEN[arch_of_triple(triple)])
    settings.update(codegen or {})
    return settings


def source_digest(ir_text, triple, opt=2, cpu="", features="", codegen=None):
    """What a library depends on: compare with StencilLibrary.source_digest to reuse a file."""
    h = hashlib.sha256()
    for part in (ir_text, triple, str(opt), cpu, features, str(FORMAT_VERSION),
                 repr(sorted(_codegen(triple, codegen).items())), llvmlite.__version__):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def compile_object(ir_text, triple=None, *, opt=2, cpu="", features="", codegen=None):
    """Compile IR text into an ELF relocatable object for `triple` (the host's by default)
    with the relocation and code model of contract.CODEGEN (`codegen`, a dict with "reloc"
    and/or "codemodel", overrides them: for experiments and tests).  Returns the bytes."""
    _init_llvm()
    triple = triple or host_triple()
    settings = _codegen(triple, codegen)
    with LLVM_LOCK:
        return _compile_locked(ir_text, triple, settings, opt, cpu, features)


def _compile_locked(ir_text, triple, settings, opt, cpu, features):
    try:
        # a context of its own: the translator compiles on two threads (the O2
        # compiler thread and the run loop), and an LLVM context is not thread-safe
        module = llvm.parse_assembly(ir_text, context=llvm.create_context())
        module.verify()
    except RuntimeError as exc:
        raise StencilBuildError(f"stencil IR does not parse or verify: {exc}") from None
    target = llvm.Target.from_triple(triple)
    machine = target.create_target_machine(cpu=cpu, features=features, opt=opt,
                                           reloc=settings["reloc"],
                                           codemodel=settings["codemodel"])
    module.triple = triple
    module.data_layout = str(machine.target_data)
    return machine.emit_object(module)


def build_library(ir_text, triple=None, *, opt=2, cpu="", features="", codegen=None,
                  roles=(), addr_names=(), runtime_names=()):
    """Compile `ir_text` and read the object into a StencilLibrary.

    roles / addr_names / runtime_names fix the first ids of those name tables (so a caller
    can keep ids stable across builds); names the IR uses beyond them follow, sorted."""
    triple = triple or host_triple()
    obj = compile_object(ir_text, triple, opt=opt, cpu=cpu, features=features, codegen=codegen)
    return read_object(obj, triple, roles=roles, addr_names=addr_names,
                       runtime_names=runtime_names,
                       digest=source_digest(ir_text, triple, opt, cpu, features, codegen))


class _Names:
    """A name table: fixed first entries, then the rest in sorted order."""

    def __init__(self, fixed):
        self.fixed = list(fixed)
        self.seen = set()

    def note(self, name):
        self.seen.add(name)

    def table(self):
        return self.fixed + sorted(self.seen - set(self.fixed))


# section flags (ELF gABI, "Section Attribute Flags")
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 0x1, 0x2, 0x4


def read_object(obj, triple, *, roles=(), addr_names=(), runtime_names=(), digest=""):
    """Read an ELF object of stencils (as compile_object makes) into a StencilLibrary."""
    # pyelftools only when a library is built: importing it is a tenth of pyemu's
    # start, and a start that finds its stencils built never reads an object
    from elftools.elf.elffile import ELFFile
    from elftools.elf.relocation import RelocationSection
    arch = arch_of_triple(triple)
    try:
        elf = ELFFile(io.BytesIO(obj))
    except Exception as exc:
        raise StencilBuildError(f"stencil object is not ELF: {exc}") from None
    if elf["e_machine"] != _ELF_MACHINE[arch] or elf.elfclass != 64 or not elf.little_endian:
        raise StencilBuildError(f"stencil object is {elf['e_machine']}, expected {arch}")
    sections = list(elf.iter_sections())
    symtab = elf.get_section_by_name(".symtab")
    if symtab is None:
        raise StencilBuildError("stencil object has no symbol table")
    is_exec = [bool(s["sh_flags"] & SHF_EXECINSTR) for s in sections]

    functions = _functions(symtab, is_exec)
    if not functions:
        raise StencilBuildError("stencil IR defines no functions")
    # Raw relocations grouped per stencil, found by address within the code section.
    starts = {}
    for sec_index, value, size, name in functions:
        starts.setdefault(sec_index, []).append((value, size, name))
    for lst in starts.values():
        lst.sort()
    raw = {name: [] for _, _, _, name in functions}
    rodata_sections = {}          # section index -> offset in the rodata blob (filled below)
    relocated_sections = set()
    for sec in sections:
        if not isinstance(sec, RelocationSection):
            continue
        target_index = sec["sh_info"]
        relocated_sections.add(target_index)
        if not is_exec[target_index]:
            continue              # .eh_frame, debug info: not laid out, not patched
        if not sec.is_RELA():
            raise StencilBuildError(f"stencil object uses REL relocations ({sec.name}); RELA expected")
        table = starts.get(target_index, [])
        keys = [v for v, _, _ in table]
        for rel in sec.iter_relocations():
            off = rel["r_offset"]
            pos = bisect.bisect_right(keys, off) - 1
            if pos < 0 or off >= table[pos][0] + table[pos][1]:
                raise StencilBuildError(f"relocation at {sections[target_index].name}+{off:#x} "
                                        f"lies outside every stencil")
            value, size, name = table[pos]
            raw[name].append((off - value, rel["r_info_type"], rel["r_info_sym"], rel["r_addend"]))

    names = {"role": _Names(roles), "addr": _Names(addr_names), "runtime": _Names(runtime_names)}
    classified = {}
    for sec_index, value, size, name in functions:
        code = sections[sec_index].data()[value:value + size]
        rows = []
        for off, rtype, sym_index, addend in sorted(raw[name]):
            sym = symtab.get_symbol(sym_index)
            target, key, addend = _classify_target(sym, addend, name, sections, is_exec,
                                                   rodata_sections)
            if target in (TARGET_VALUE, TARGET_ADDR, TARGET_RUNTIME):
                names[{TARGET_VALUE: "role", TARGET_ADDR: "addr",
                       TARGET_RUNTIME: "runtime"}[target]].note(key)
            kind = _kind(arch, rtype, name, sym.name)
            _check_use(arch, kind, rtype, target, key, addend, off, code, name)
            rows.append((off, kind, target, key, addend))
        classified[name] = (code, rows)

    for sec_index in rodata_sections:
        if sec_index in relocated_sections:
            raise StencilBuildError(f"constant section {sections[sec_index].name} has relocations "
                                    f"of its own (a table of addresses?); not supported")
    rodata, rodata_align = _layout_rodata(sections, rodata_sections)
    tables = {key: n.table() for key, n in names.items()}
    ids = {key: {nm: i for i, nm in enumerate(t)} for key, t in tables.items()}
    target_key = {TARGET_VALUE: "role", TARGET_ADDR: "addr", TARGET_RUNTIME: "runtime"}

    code_parts, stencil_rows, reloc_rows = [], [], []
    code_len = 0
    for _, _, _, name in functions:
        code, rows = classified[name]
        begin = len(reloc_rows)
        for off, kind, target, key, addend in rows:
            if target in target_key:
                index = ids[target_key[target]][key]
            elif target == TARGET_CONT:
                index = key
            else:                   # rodata: key is the section; fold its blob offset in
                index, addend = 0, addend + rodata_sections[key]
            reloc_rows.append((off, kind, target, index, addend))
        stencil_rows.append((code_len, len(code), _trim(arch, code, rows), begin, len(reloc_rows)))
        code_parts.append(code)
        code_len += len(code)

    lib = StencilLibrary(
        triple=triple, stencil_names=[f[3] for f in functions], roles=tables["role"],
        addr_names=tables["addr"], runtime_names=tables["runtime"],
        code=np.frombuffer(b"".join(code_parts), dtype=np.uint8).copy(),
        stencils=np.array(stencil_rows, dtype=np.int64).reshape(-1, 5),
        relocs=np.array(reloc_rows, dtype=np.int64).reshape(-1, 5),
        rodata=rodata, rodata_align=rodata_align, source_digest=digest)
    return lib.validate()


def _functions(symtab, is_exec):
    """(section index, value, size, name) of every function defined in a code section,
    in address order."""
    found = []
    for sym in symtab.iter_symbols():
        shndx = sym["st_shndx"]
        if sym["st_info"]["type"] != "STT_FUNC" or not isinstance(shndx, int):
            continue
        if not is_exec[shndx]:
            continue
        if sym["st_size"] == 0:
            raise StencilBuildError(f"stencil {sym.name!r} has size 0")
        found.append((shndx, sym["st_value"], sym["st_size"], sym.name))
    found.sort()
    names = [f[3] for f in found]
    if len(set(names)) != len(names):
        raise StencilBuildError("two stencils share a name")
    return found


def _classify_target(sym, addend, stencil, sections, is_exec, rodata_sections):
    """(target, key, addend) for a relocation's symbol.  key is the role / address name /
    runtime name / continuation number, or for constants the section index."""
    shndx = sym["st_shndx"]
    name = sym.name
    if shndx == "SHN_UNDEF":
        if name.startswith(HOLE_PREFIX):
            return TARGET_VALUE, _suffix(name, HOLE_PREFIX, stencil), addend
        if name.startswith(ADDR_PREFIX):
            return TARGET_ADDR, _suffix(name, ADDR_PREFIX, stencil), addend
        if name.startswith(CONT_PREFIX):
            k = _suffix(name, CONT_PREFIX, stencil)
            if not k.isdigit() or int(k) >= N_CONTS:
                raise StencilBuildError(f"stencil {stencil!r}: unknown continuation {name!r} "
                                        f"(only {CONT_PREFIX}0..{N_CONTS - 1})")
            return TARGET_CONT, int(k), addend
        if not name:
            raise StencilBuildError(f"stencil {stencil!r}: relocation against an unnamed undefined symbol")
        return TARGET_RUNTIME, name, addend
    if not isinstance(shndx, int):
        raise StencilBuildError(f"stencil {stencil!r} refers to {name!r} ({shndx}); not supported")
    sec = sections[shndx]
    flags = sec["sh_flags"]
    if is_exec[shndx]:
        raise StencilBuildError(f"stencil {stencil!r} refers to code symbol {name or sec.name!r}: "
                                f"stencils reach other code only through {CONT_PREFIX}k or "
                                f"runtime functions")
    if not flags & SHF_ALLOC or flags & SHF_WRITE or sec["sh_type"] == "SHT_NOBITS":
        raise StencilBuildError(f"stencil {stencil!r} refers to {name or sec.name!r} in {sec.name} "
                                f"(writable or non-allocated data); stencils may only use constants")
    rodata_sections.setdefault(shndx, None)
    # A section symbol has value 0; a local label (.LCPI0_0) has its offset in the section.
    return TARGET_RODATA, shndx, addend + sym["st_value"]


def _suffix(name, prefix, stencil):
    rest = name[len(prefix):]
    if not rest:
        raise StencilBuildError(f"stencil {stencil!r}: symbol {name!r} has an empty name")
    return rest


def _kind(arch, rtype, stencil, symbol):
    entry = ELF_KINDS[arch].get(rtype)
    if entry is None:
        raise StencilBuildError(f"stencil {stencil!r}: unsupported relocation type {rtype} "
                                f"({_elf_type_name(arch, rtype)}) against {symbol!r}")
    return entry[1]


def _elf_type_name(arch, rtype):
    from elftools.elf.enums import ENUM_RELOC_TYPE_AARCH64, ENUM_RELOC_TYPE_x64  # deferred: as in read_object
    table = ENUM_RELOC_TYPE_x64 if arch == X86_64 else ENUM_RELOC_TYPE_AARCH64
    for name, number in table.items():
        if number == rtype:
            return name
    return "unknown"


def _check_use(arch, kind, rtype, target, key, addend, off, code, stencil):
    """Refuse relocations the emitter could not patch correctly for every value."""
    what = f"stencil {stencil!r}: {TARGET_NAMES[target]} {key!r}"
    type_name = ELF_KINDS[arch][rtype][0]
    if target == TARGET_VALUE and kind not in VALUE_KINDS[arch]:
        if kind == KIND_X86_ABS32S:
            raise StencilBuildError(
                f"{what} is encoded as a sign-extended 32-bit field ({type_name}): values "
                f">= 2^31 would come out wrong.  Use the hole as `ptrtoint (ptr @{HOLE_PREFIX}{key} "
                f"to i32)` and zext/sext that explicitly (LLVM treats a `to i64` use as a "
                f"small-code-model address)")
        if kind in GOT_KINDS:
            raise StencilBuildError(f"{what} is loaded through the GOT ({type_name}): declare it "
                                    f"`external dso_local global i8, !absolute_symbol ...`")
        raise StencilBuildError(f"{what} uses {type_name}, which cannot hold any 32-bit value "
                                f"(a code-relative field?)")
    if target in (TARGET_ADDR, TARGET_RODATA) and kind in GOT_KINDS:
        raise StencilBuildError(f"{what} is reached through the GOT ({type_name}); declare it dso_local")
    if target == TARGET_CONT:
        if kind not in CONT_KINDS[arch]:
            raise StencilBuildError(f"{what} uses {type_name}; a continuation must be the target "
                                    f"of a `musttail call` (a direct jump)")
        if arch == X86_64:
            jmp = off >= 1 and code[off - 1] == 0xE9
            jcc = off >= 2 and code[off - 2] == 0x0F and 0x80 <= code[off - 1] <= 0x8F
            if addend != -4 or not (jmp or jcc):
                raise StencilBuildError(f"{what} is not a jmp/jcc rel32 (called, or its address "
                                        f"taken?); use `musttail call` then `ret`")
        elif type_name != "R_AARCH64_JUMP26" or addend != 0:
            raise StencilBuildError(f"{what} is {type_name} {addend:+d}, not a B instruction; "
                                    f"use `musttail call` then `ret`")


def _trim(arch, code, rows):
    """Bytes to drop at the end of a stencil when the next piece is laid out right after
    it: its last instruction is the jump to continuation 0 (x86-64 `jmp rel32`, 5 bytes;
    AArch64 `b`, 4 bytes).  0 if it ends otherwise."""
    size = len(code)
    for off, kind, target, key, addend in rows:
        if target != TARGET_CONT or key != 0 or off != size - 4:
            continue
        if arch == X86_64 and size >= 5 and code[size - 5] == 0xE9:
            return TRIM_BYTES[arch]
        if arch == AARCH64 and code[size - 1] & 0xFC == 0x14:   # B imm26: top bits 000101
            return TRIM_BYTES[arch]
    return 0


def _layout_rodata(sections, rodata_sections):
    """Concatenate the referenced constant sections, each at its alignment; fills in each
    section's offset and returns (blob, alignment of the blob)."""
    blob = bytearray()
    align = 16
    for index in sorted(rodata_sections):
        sec = sections[index]
        a = max(1, sec["sh_addralign"])
        align = max(align, a)
        blob.extend(b"\0" * (-len(blob) % a))
        rodata_sections[index] = len(blob)
        blob.extend(sec.data())
    return np.frombuffer(bytes(blob), dtype=np.uint8).copy(), align
