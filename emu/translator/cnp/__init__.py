"""Copy-and-patch machinery for the baseline tier: stencil library build, executable
arena, native emitter.

Design
------
Each x86 instruction variant is compiled ahead of time by LLVM into a *stencil*: a function
whose machine code has holes, left as ELF relocations.  `build_library` compiles a module of
stencils (llvmlite -> ELF object), reads it with pyelftools and keeps, per stencil, its
bytes and its relocations classified by target (value hole / address hole / continuation /
runtime function / constant data) and by patch kind (relocs.py: one formula per kind,
from the x86-64 and AArch64 ELF psABIs).  At run time `Emitter.emit` copies stencils one
after the other into the `Arena` (executable memory) and patches the holes, in numba
(`emit_pieces`), a few microseconds per block.  Exits are re-pointed later with one 4-byte
store (`Emitter.repatch`) for chaining and unchaining.

IR contract
-----------
A module of stencils, each `define i32 @"<name>"(ptr %s, ptr %e) #0` with attributes
`nounwind "no-jump-tables"="true"` (jump tables would be constant data with relocations,
which is refused; "frame-pointer"="none" is welcome but not required).  Every function
defined in the module is a stencil.

* Value hole (32-bit unsigned operand):
      @"__hole.<role>" = external dso_local global i8, !absolute_symbol !0
      !0 = !{i64 0, i64 4294967296}
  used ONLY as `ptrtoint (ptr @"__hole.<role>" to i32)`, then zext/sext as needed.
  `dso_local` is required for AArch64 (without it LLVM loads the hole through the GOT,
  refused with a message saying so); on x86-64 both forms give the same code.  A `to i64`
  use makes x86-64 LLVM encode the hole as a sign-extended 32-bit field (R_X86_64_32S),
  wrong for values >= 2^31: the build refuses it, naming stencil and role.
* Address hole: `@"__addr.<name>" = external dso_local global i8`, used as a pointer or
  ptrtoint to i64: an arena address (e.g. a counter from `Arena.alloc_data`).
* Continuations: `declare i32 @"__cont.<k>"(ptr, ptr)`, k = 0, 1, 2, used only as
  `%r = musttail call i32 @"__cont.<k>"(ptr %s, ptr %e)` + `ret i32 %r` (a call, or a use
  of the address, is refused).
* Runtime functions: any other undefined symbol, called, tail-called or address-taken.
  Calls and tail calls go through a stub in the arena (`jmp [rip+0]; .quad addr` on
  x86-64, `ldr x16, #8; br x16; .quad addr` on AArch64), so the function may be anywhere;
  a GOT load of its address reads the stub's address word; an absolute field gets the real
  address.  LLVM may also call `memcpy`/`memset` on its own: they then need addresses too.
* Constant data (constant pools) is laid out once per arena and reached PC-relative
  (x86-64) or absolute (AArch64); constant sections with relocations of their own are refused.

Code generation (contract.CODEGEN), chosen so that every field above is patchable:
  x86-64   reloc="pic", codemodel="small": value holes R_X86_64_32 (absolute imm32),
           address holes and constants R_X86_64_PC32, calls/jumps R_X86_64_PLT32, runtime
           address R_X86_64_REX_GOTPCRELX; the arena may be anywhere (under 2 GB in size).
  AArch64  reloc="static", codemodel="large": holes, addresses, constants as MOVZ/MOVK
           (R_AARCH64_MOVW_UABS_G0_NC..G3), branches R_AARCH64_JUMP26/CALL26 (+-128 MB:
           arena at most 128 MB), runtime address R_AARCH64_ADR_GOT_PAGE/LD64_GOT_LO12_NC.
Handled kinds (anything else is a StencilBuildError naming type and stencil):
  x86-64   R_X86_64_64, _PC32, _PLT32, _32, _32S (not for value holes), _PC64,
           _GOTPCREL, _GOTPCRELX, _REX_GOTPCRELX (runtime symbols only).
  AArch64  R_AARCH64_ABS64, _ABS32, _MOVW_UABS_G0/G0_NC/G1/G1_NC/G2/G2_NC/G3,
           _JUMP26, _CALL26, _ADR_PREL_PG_HI21, _ADD_ABS_LO12_NC,
           _LDST{8,16,32,64,128}_ABS_LO12_NC, _ADR_GOT_PAGE, _LD64_GOT_LO12_NC.
Range checks happen at emit time (an out-of-range value is an EmitError naming piece,
stencil, relocation and value, and nothing is committed).

API
---
build_library(ir_text, triple=None, *, opt=2, cpu="", features="", codegen=None,
              roles=(), addr_names=(), runtime_names=()) -> StencilLibrary
    triple: the host's by default.  roles/addr_names/runtime_names fix the first ids.
    codegen overrides {"reloc", "codemodel"} (experiments only).
compile_object(...) -> ELF bytes;  read_object(obj, triple, ...) -> StencilLibrary
source_digest(ir_text, triple, opt, cpu, features, codegen) -> str (for file reuse)
StencilLibrary: triple, arch, stencil_names, roles, addr_names, runtime_names,
    code uint8[], stencils int64[n, 5] (offset, size, trim, reloc begin, reloc end),
    relocs int64[m, 5] (offset, kind, target, index, addend), rodata uint8[];
    stencil_id/role_id/addr_id/runtime_id(name), describe(name), max_cont_sites,
    save(path), StencilLibrary.load(path, expect_digest=None) (LibraryFileError on any damage).
Arena(size=None, *, arch=None, mode="auto"|"rwx"|"dual", fixed_size=None, address_hint=0)
    base, size, mem (writable uint8 view), code_start, code_top, data_bottom, generation;
    alloc_code(n, align=16), alloc_data(n, align=8) (zeroed), alloc_fixed(n, align),
    stub(name, address), constants(library), read/write(addr, ...), free(),
    reset() (drops code and data, keeps stubs and constants, generation += 1),
    flush_icache(start, end), close().  ArenaFull when code or data do not fit.
    Arena.over_buffer(mem, base, arch): a non-executable arena over a numpy buffer at a
    fake address (for emitting another architecture's code).
Emitter(library, arena, runtime: dict name -> address)
    emit(ids, values=None, addrs=None, conts=None, *, trim=True) -> Emission(start, end,
        addresses int64[n], sites int64[k, 5] = (piece, cont, field address, kind, addend))
      ids int32[n] stencil ids in layout order; values uint32[n, n_roles] by role id;
      addrs uint64[n, n_addr_names] by address-name id; conts int64[n, 3]: > 0 absolute
      address, -1 - j = piece j of this emission, 0 = default (continuation 0: the next
      piece; 1 and 2: must be given if used).  A stencil ending with `jmp __cont.0` loses
      that jump when its continuation 0 is the next piece (trim).
    emit_into(ids, values, addrs, conts, out_addr, out_sites, *, trim=True) -> end
      (the same with caller-made arrays of exactly those dtypes; last_site_count)
    repatch(site_row or (addr, kind, addend), target): one 4-byte store (+ icache flush).
emit_pieces(...), repatch_site(...): the numba routines themselves (emit.py), callable from
    other @njit code (a block assembler written in numba pays no Python call at all).

Not thread-safe: one thread emits and repatches; code being re-pointed must not be running
on another thread (true of a single-threaded guest CPU).  After reset(), all addresses
and patch sites of earlier emissions are stale (see Arena.generation).

Measured (x86-64 host, 2 busy cores; benchmarks/cnp_emit.py): one block of 5 pieces
(load, add_disp, vec, count, branch: 69+34+61+30+29 bytes before trimming, 21 relocations,
208 bytes laid out): Emitter.emit 5.3-5.7 us, emit_into 2.7-3.2 us, emit_pieces called
from Python 2.1-2.3 us (mostly numba unboxing 13 arrays), from numba 0.23 us; repatch
1.6 us from Python (0.9 us for the native call).  A cold numba cache costs about 4 s of
compilation once.
Test stencils on x86-64, bytes (trim, relocations): store_imm 23 (5, 3), store_imm_sext
24 (5, 3), add_imm 19 (5, 3), add_disp 34 (5, 4), store_env 16 (5, 2), ret_imm 6 (0, 1),
load 69 (0, 5), branch 29 (0, 4), count 30 (5, 4), store_fn 23 (5, 3), vec 61 (5, 4).
On AArch64 (large model) they are 1.5-3x larger: 4 instructions per hole.
"""
from .arena import Arena, ArenaError, ArenaFull
from .emit import Emission, EmitError, Emitter, emit_pieces, repatch_site
from .library import LibraryFileError, StencilLibrary
from .objfile import (StencilBuildError, build_library, compile_object, host_triple, read_object,
                      source_digest)

__all__ = ["Arena", "ArenaError", "ArenaFull", "Emission", "EmitError", "Emitter", "emit_pieces",
           "repatch_site", "LibraryFileError", "StencilLibrary", "StencilBuildError",
           "build_library", "compile_object", "host_triple", "read_object", "source_digest"]
