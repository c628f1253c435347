"""Linear -> physical translation: the x86 page walk and the shadow page table (numba).

With CR0.PG clear the linear address is the physical one (masked by A20).
With paging on: the 2-level walk of Intel SDM Vol. 3A 4.3 (4 MB pages when
CR4.PSE is set), or with CR4.PAE the 3-level walk of SDM 4.4 (2 MB pages,
execute-disable with EFER.NXE); protection checks (SDM 4.6), accessed/dirty
updates (4.8) and #PF error codes and CR2 (4.7).  Physical addresses above
4 GB are outside the emulated address space (they read as unassigned).

A peek (ACC_PEEK) is the same walk with no side effect, for the debugger and
the translator's look-ahead past a page end.

Shadow page table: every successful walk is cached per address space (ASID)
in a direct-mapped table behind the TLB, so a TLB miss usually costs one
lookup instead of a walk.  Entries carry the generation of their ASID;
bumping a generation forgets all of that ASID's entries at once.  Pages the
walk reads page-table entries from are flagged PAGE_PT: TLB entries never
allow writes to them, so every guest write to a page table reaches
`page_table_written` (tlb.py), which forgets the translations that write
could have changed and clears the mark until a walk reads the page again
(see there).
"""
import numpy as np
from numba import carray, njit

from ..cpu.state import EXC_HAS_ERROR, INVALID_TAG, MMU_INDEXES, TLB_SIZE
from ..cpu.vectors import Vector
from . import phys as P
from .native import read_host, u32_ptr, u64_ptr, u8_ptr, write_host

ACC_READ = 0
ACC_WRITE = 1
ACC_CODE = 2
ACC_KIND = 3
# Or-ed into an access: a peek, the translation a debugger or the translator's
# look-ahead wants without the access happening.  The walk sets no accessed
# or dirty bit (Intel SDM Vol. 3A 4.8: the processor sets them when it uses an
# entry for an access, and a peek is none), records no #PF (CR2, the pending
# exception) and caches nothing (shadow page table, PAGE_PT marks).  The
# permission checks are made as for the access kind it is or-ed into.
ACC_PEEK = 4

# translate() results
T_OK = 0
T_FAULT = 1

PTE_P = 1
PTE_W = 2
PTE_U = 4
PTE_A = 0x20
PTE_D = 0x40
PTE_PS = 0x80
PTE_G = 0x100

CR0_WP = 1 << 16
CR0_PG = 1 << 31
CR4_PSE = 1 << 4
CR4_PAE = 1 << 5
CR4_PGE = 1 << 7
EFER_NXE = 1 << 11
PTE_NX = np.uint64(1) << np.uint64(63)
PAE_ADDR = np.uint64(0x000FFFFFFFFFF000)
# PAE entries: bits 62:MAXPHYADDR must be 0 (MAXPHYADDR is 36: CPUID reports
# PAE and no leaf 80000008h, SDM Vol. 3A 4.1.4), bit 63 too unless EFER.NXE,
# and bits 20:13 of a 2 MB PDE (SDM Vol. 3A Tables 4-9 to 4-11)
PAE_RSVD = np.uint64(0x7FFFFFF000000000)
PAE_RSVD_2M = np.uint64(0x1FE000)
PF_RSVD = 8                  # #PF error code: a reserved bit was set

# shadow page table
SHADOW_BITS = 16
SHADOW_SIZE = 1 << SHADOW_BITS
N_ASIDS = 4096
# shadow value bits (beside the physical page address in bits 12..31)
SV_WRITE = np.uint64(1)      # PDE & PTE allow writes
SV_USER = np.uint64(2)       # PDE & PTE allow user accesses
SV_DIRTY = np.uint64(4)      # the dirty bit is set already
SV_NX = np.uint64(8)         # execute-disable
SV_GLOBAL = np.uint64(16)    # a global page (CR4.PGE)
SV_LARGE = np.uint64(32)     # part of a 4 MB or 2 MB page (INVLPG drops all of it)
SV_VALID = np.uint64(1 << 11)  # so that a valid entry is never 0

# TlbEntry.pad bits: the entry maps part of a global page / of a large page
TLB_GLOBAL = 1
TLB_LARGE = 2
LARGE_REGION = 0xFFC00000    # the 4 MB region a large page (4 MB, or 2 MB with PAE) lies in


@njit(cache=True, nogil=True)
def phys_read32(s, paddr):
    pfn = paddr >> 12
    if pfn >= P.PHYS_PAGES:
        return np.uint64(0)
    flags = carray(u8_ptr(s.phys_flags), P.PHYS_PAGES)
    if flags[pfn] & P.PAGE_RAM == 0:
        return np.uint64(0)
    host = carray(u64_ptr(s.phys_host), P.PHYS_PAGES)
    return read_host(host[pfn] + np.uint64(paddr & 0xFFF), 4)


@njit(cache=True, nogil=True)
def phys_read64(s, paddr):
    return phys_read32(s, paddr) | (phys_read32(s, paddr + np.uint64(4)) << np.uint64(32))


@njit(cache=True, nogil=True)
def phys_write32(s, paddr, value):
    pfn = paddr >> 12
    if pfn >= P.PHYS_PAGES:
        return
    flags = carray(u8_ptr(s.phys_flags), P.PHYS_PAGES)
    if flags[pfn] & P.PAGE_RAM == 0:
        return
    host = carray(u64_ptr(s.phys_host), P.PHYS_PAGES)
    write_host(host[pfn] + np.uint64(paddr & 0xFFF), 4, np.uint64(value))


@njit(cache=True, nogil=True)
def mark_page_table(s, paddr):
    """Flag the page holding a paging structure; drop write access to it from the TLB."""
    pfn = paddr >> 12
    if pfn >= P.PHYS_PAGES:
        return
    flags = carray(u8_ptr(s.phys_flags), P.PHYS_PAGES)
    if flags[pfn] & P.PAGE_PT:
        return
    flags[pfn] |= P.PAGE_PT
    page = np.uint32((paddr & np.uint64(0xFFFFF000)) & np.uint64(0xFFFFFFFF))
    for mmu in range(MMU_INDEXES):
        for i in range(TLB_SIZE):
            if s.tlb[mmu, i].phys_page == page:
                s.tlb[mmu, i].tag_write = INVALID_TAG


# --- shadow page table ------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def _shadow_index(asid, vpn):
    return (vpn ^ (asid * np.uint64(0x9E37))) & np.uint64(SHADOW_SIZE - 1)


@njit(cache=True, nogil=True)
def _shadow_key(asid, vpn):
    return (np.uint64(1) << np.uint64(40)) | (np.uint64(asid) << np.uint64(20)) | vpn


@njit(cache=True, nogil=True)
def shadow_lookup(s, vpn):
    """The cached value for vpn in the current address space, or 0."""
    asid = np.uint64(s.tlb_asid)
    i = _shadow_index(asid, vpn)
    keys = carray(u64_ptr(s.shadow_key), SHADOW_SIZE)
    if keys[i] != _shadow_key(asid, vpn):
        return np.uint64(0)
    gens = carray(u32_ptr(s.shadow_gen), SHADOW_SIZE)
    asid_gen = carray(u32_ptr(s.asid_gen), N_ASIDS)
    if gens[i] != asid_gen[asid]:
        return np.uint64(0)
    vals = carray(u64_ptr(s.shadow_val), SHADOW_SIZE)
    return vals[i]


@njit(cache=True, nogil=True)
def shadow_insert(s, vpn, value):
    asid = np.uint64(s.tlb_asid)
    i = _shadow_index(asid, vpn)
    carray(u64_ptr(s.shadow_key), SHADOW_SIZE)[i] = _shadow_key(asid, vpn)
    carray(u64_ptr(s.shadow_val), SHADOW_SIZE)[i] = value
    carray(u32_ptr(s.shadow_gen), SHADOW_SIZE)[i] = carray(u32_ptr(s.asid_gen), N_ASIDS)[asid]


@njit(cache=True, nogil=True)
def shadow_forget(s, vpn):
    asid = np.uint64(s.tlb_asid)
    i = _shadow_index(asid, vpn)
    keys = carray(u64_ptr(s.shadow_key), SHADOW_SIZE)
    if keys[i] == _shadow_key(asid, vpn):
        keys[i] = 0


@njit(cache=True, nogil=True)
def shadow_forget_large(s, vpn):
    """INVLPG: forget vpn and every translation of the current address space
    that came from a large page in vpn's 4 MB region."""
    shadow_forget(s, vpn)
    first = vpn & np.uint64(LARGE_REGION >> 12)
    for k in range(1 << 10):
        v = first + np.uint64(k)
        if shadow_lookup(s, v) & SV_LARGE:
            shadow_forget(s, v)


def _allowed(value, access, user, wp, nxe):
    """May a cached translation serve this access without a walk?"""
    if user and not value & SV_USER:
        return False
    if access == ACC_WRITE:
        if not value & SV_DIRTY:
            return False
        if not value & SV_WRITE and (user or wp):
            return False
    if access == ACC_CODE and nxe and value & SV_NX:
        return False
    return True


_allowed = njit(cache=True, nogil=True)(_allowed)


# --- the walk -----------------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def walk(s, lin, access, user):
    """Walk the paging structures; returns (status, physical page, shadow value bits).

    With ACC_PEEK in access, nothing in s changes (see ACC_PEEK)."""
    peek = access & ACC_PEEK != 0
    access = access & ACC_KIND
    a20 = np.uint64(s.a20_mask)
    is_write = access == ACC_WRITE
    pae = s.cr[4] & CR4_PAE != 0
    nxe = pae and s.efer & EFER_NXE != 0
    if pae:
        top_addr = ((np.uint64(s.cr[3]) & np.uint64(0xFFFFFFE0)) | ((lin >> np.uint64(27)) & np.uint64(0x18))) & a20
        pdpte = phys_read64(s, top_addr)
        if pdpte & PTE_P == 0:
            return _page_fault(s, lin, 0, is_write, user, access, peek)
        if not peek:
            mark_page_table(s, top_addr)
        pde_addr = ((pdpte & PAE_ADDR) | ((lin >> np.uint64(18)) & np.uint64(0xFF8))) & a20
        pde = phys_read64(s, pde_addr)
        large = pde & PTE_PS != 0
        rsvd = PAE_RSVD if nxe else PAE_RSVD | PTE_NX
        if pde & PTE_P and pde & (rsvd | (PAE_RSVD_2M if large else np.uint64(0))):
            return _page_fault(s, lin, 1 | PF_RSVD, is_write, user, access, peek)
    else:
        pde_addr = ((np.uint64(s.cr[3]) & np.uint64(0xFFFFF000)) | ((lin >> np.uint64(20)) & np.uint64(0xFFC))) & a20
        pde = phys_read32(s, pde_addr)
        large = pde & PTE_PS != 0 and s.cr[4] & CR4_PSE != 0
    if pde & PTE_P == 0:
        return _page_fault(s, lin, 0, is_write, user, access, peek)
    if not peek:
        mark_page_table(s, pde_addr)
    if large:
        pte, pte_addr, perm = pde, pde_addr, pde
        if pae:
            page_base = (pde & np.uint64(0x000FFFFFFFE00000)) | (lin & np.uint64(0x1FF000))
        else:
            page_base = (pde & np.uint64(0xFFC00000)) | (lin & np.uint64(0x3FF000))
        nx = pde & PTE_NX
    else:
        if pae:
            pte_addr = ((pde & PAE_ADDR) | ((lin >> np.uint64(9)) & np.uint64(0xFF8))) & a20
            pte = phys_read64(s, pte_addr)
            if pte & PTE_P and pte & (PAE_RSVD if nxe else PAE_RSVD | PTE_NX):
                return _page_fault(s, lin, 1 | PF_RSVD, is_write, user, access, peek)
        else:
            pte_addr = ((pde & np.uint64(0xFFFFF000)) | ((lin >> np.uint64(10)) & np.uint64(0xFFC))) & a20
            pte = phys_read32(s, pte_addr)
        if pte & PTE_P == 0:
            return _page_fault(s, lin, 0, is_write, user, access, peek)
        if not peek:
            mark_page_table(s, pte_addr)
        page_base = pte & (PAE_ADDR if pae else np.uint64(0xFFFFF000))
        perm = pde & pte
        nx = (pde | pte) & PTE_NX
    # SDM 4.6: user accesses need U at every level; writes need W for users,
    # and for supervisors too when CR0.WP is set
    wp = s.cr[0] & CR0_WP != 0
    if user and perm & PTE_U == 0:
        return _page_fault(s, lin, 1, is_write, user, access, peek)
    if is_write and perm & PTE_W == 0 and (user or wp):
        return _page_fault(s, lin, 1, is_write, user, access, peek)
    if access == ACC_CODE and nxe and nx:
        return _page_fault(s, lin, 1, is_write, user, access, peek)
    new_pte = pte | PTE_A
    if is_write:
        new_pte |= PTE_D
    # SDM 4.8: an access sets the accessed bit of the entries it used (a PAE
    # PDPTE has none) and, a write, the dirty bit of the one mapping the page;
    # a peek is no access
    if not peek:
        if pde_addr != pte_addr and pde & PTE_A == 0:
            phys_write32(s, pde_addr, (pde | PTE_A) & np.uint64(0xFFFFFFFF))
        if new_pte != pte:
            phys_write32(s, pte_addr, new_pte & np.uint64(0xFFFFFFFF))
    value = np.uint64(0)
    if perm & PTE_W:
        value |= SV_WRITE
    if perm & PTE_U:
        value |= SV_USER
    if new_pte & PTE_D:
        value |= SV_DIRTY
    if nxe and nx:
        value |= SV_NX
    if pte & PTE_G and s.cr[4] & CR4_PGE:
        value |= SV_GLOBAL
    if large:
        value |= SV_LARGE
    if page_base >> np.uint64(32):
        page_base = np.uint64(0xFFFFF000)          # beyond 4 GB: unassigned
    return T_OK, page_base & a20, value


@njit(cache=True, nogil=True)
def translate(s, lin, access, user):
    """Translate linear address `lin` for an access by `user` (CPL 3) code.

    Returns (status, physical address, writable, tlb pad bits) where writable
    says whether a later write through the same TLB entry may skip the walk
    (the write is allowed and the dirty bit already set) and the pad bits
    say whether the page is global (TLB_GLOBAL) or part of a large page
    (TLB_LARGE).  On a fault the #PF is recorded in s.

    With ACC_PEEK in access: the same answer, s unchanged (a peek may use a
    cached translation, since the access it stands for would; it caches none).
    """
    lin = np.uint64(lin) & np.uint64(0xFFFFFFFF)
    if s.cr[0] & CR0_PG == 0:
        return T_OK, lin & np.uint64(s.a20_mask), True, np.uint64(0)
    vpn = lin >> np.uint64(12)
    wp = s.cr[0] & CR0_WP != 0
    nxe = s.cr[4] & CR4_PAE != 0 and s.efer & EFER_NXE != 0
    value = shadow_lookup(s, vpn)
    if value != 0 and _allowed(value, access & ACC_KIND, user, wp, nxe):
        page = value & np.uint64(0xFFFFF000)
    else:
        st, page, bits = walk(s, lin, access, user)
        if st != T_OK:
            return st, np.uint64(0), False, np.uint64(0)
        value = page | bits | SV_VALID
        if access & ACC_PEEK == 0:
            shadow_insert(s, vpn, value)
    writable = value & SV_DIRTY != 0 and (value & SV_WRITE != 0 or (not user and not wp))
    pad = np.uint64(0)
    if value & SV_GLOBAL:
        pad |= np.uint64(TLB_GLOBAL)
    if value & SV_LARGE:
        pad |= np.uint64(TLB_LARGE)
    return T_OK, page | (lin & np.uint64(0xFFF)), writable, pad


@njit(cache=True, nogil=True)
def _page_fault(s, lin, protection, is_write, user, access, peek):
    if peek:
        return T_FAULT, np.uint64(0), np.uint64(0)
    code = protection
    if is_write:
        code |= 2
    if user:
        code |= 4
    if access == ACC_CODE and s.cr[4] & CR4_PAE and s.efer & EFER_NXE:
        code |= 16                     # I/D: the fault was an instruction fetch
    s.exc_vector = Vector.PF
    s.exc_error = code
    s.exc_flags = EXC_HAS_ERROR
    s.exc_addr = lin
    s.cr[2] = lin
    # SDM 4.10.4.1: a page fault invalidates cached translations of its address
    shadow_forget(s, lin >> np.uint64(12))
    idx = (lin >> np.uint64(12)) & np.uint64(TLB_SIZE - 1)
    for mmu in range(MMU_INDEXES):
        e = s.tlb[mmu, idx]
        if (e.tag_read & np.uint32(0xFFFFF000)) == np.uint32(lin & np.uint64(0xFFFFF000)):
            e.tag_read = INVALID_TAG
            e.tag_write = INVALID_TAG
            e.tag_code = INVALID_TAG
    return T_FAULT, np.uint64(0), np.uint64(0)
