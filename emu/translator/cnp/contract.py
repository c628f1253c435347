"""The naming contract between stencil IR and this package, and the code generation
settings each host architecture needs for the holes to be patchable.

Symbols a stencil may reference (see the package docstring for the full contract):

* ``@"__hole.<role>"``  value hole: a 32-bit unsigned operand, used as
  ``ptrtoint (ptr @"__hole.<role>" to i32)``.  Declared
  ``external dso_local global i8, !absolute_symbol !{i64 0, i64 4294967296}``.
* ``@"__addr.<name>"``  address hole: the address of something in the arena.
* ``@"__cont.<k>"``     continuation k (0 = next piece, 1 and 2 = exits), only as the
  target of ``musttail call``.
* any other undefined symbol is a runtime function of the process, reached through a stub.
"""

HOLE_PREFIX = "__hole."
ADDR_PREFIX = "__addr."
CONT_PREFIX = "__cont."
N_CONTS = 3

X86_64 = "x86_64"
AARCH64 = "aarch64"

# Per architecture: LLVM relocation model and code model for the stencil object.
#
# x86-64: position-independent code, small code model.  Value holes with !absolute_symbol
#   become 32-bit immediates (R_X86_64_32); address holes and constant pools are
#   RIP-relative (R_X86_64_PC32), so the arena may live anywhere as long as it spans less
#   than 2 GB; branches and calls are rel32 (R_X86_64_PLT32).  With the static relocation
#   model LLVM would instead encode `ptrtoint @__addr.x to i64` as a sign-extended 32-bit
#   absolute (R_X86_64_32S), which only works for an arena below 2 GB.
# AArch64: static, large code model.  Value holes and address holes become MOVZ/MOVK
#   sequences (R_AARCH64_MOVW_UABS_G0..G3); the small model would make them ADRP/ADD pairs
#   relative to the code address, unusable for an operand value.  Branches stay B/BL with
#   a 26-bit offset (+-128 MB), so the arena must not exceed 128 MB.
CODEGEN = {
    X86_64: {"reloc": "pic", "codemodel": "small"},
    AARCH64: {"reloc": "static", "codemodel": "large"},
}

# Largest arena each architecture can address with its PC-relative branches.
MAX_ARENA = {X86_64: (1 << 31) - (1 << 20), AARCH64: 1 << 27}


def arch_of_triple(triple):
    """'x86_64' or 'aarch64' for an LLVM target triple; ValueError for anything else."""
    head = triple.split("-", 1)[0].lower()
    if head in ("x86_64", "amd64"):
        return X86_64
    if head in ("aarch64", "arm64"):
        return AARCH64
    raise ValueError(f"copy-and-patch stencils: unsupported target triple {triple!r} "
                     f"(supported: x86_64-*, aarch64-*)")
