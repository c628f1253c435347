"""Linear -> physical translation: the x86 page walk (native, numba).

With CR0.PG clear the linear address is the physical one (masked by A20).
With paging on: the 2-level walk of Intel SDM Vol. 3A 4.3 (4 MB pages when
CR4.PSE is set), or with CR4.PAE the 3-level walk of SDM 4.4 (2 MB pages,
execute-disable with EFER.NXE); protection checks, accessed/dirty updates and
#PF error codes as SDM 4.6 and 4.7 describe.  Physical addresses above 4 GB
are outside the emulated address space (they read as unassigned).
"""
import numpy as np
from numba import njit

from . import phys as P
from .native import read_host, u64_ptr, u8_ptr, write_host  # noqa: F401
from numba import carray

ACC_READ = 0
ACC_WRITE = 1
ACC_CODE = 2

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
EFER_NXE = 1 << 11
PTE_NX = np.uint64(1) << np.uint64(63)
PAE_ADDR = np.uint64(0x000FFFFFFFFFF000)

PF_VECTOR = 14


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
def phys_read64(s, paddr):
    return phys_read32(s, paddr) | (phys_read32(s, paddr + np.uint64(4)) << np.uint64(32))


@njit(cache=True, nogil=True)
def translate_pae(s, lin, access, user):
    """The PAE walk: PDPTE, PDE (2 MB pages), PTE; 64-bit entries (SDM 4.4)."""
    a20 = np.uint64(s.a20_mask)
    is_write = access == ACC_WRITE
    nxe = s.efer & EFER_NXE != 0
    pdpte_addr = ((np.uint64(s.cr[3]) & np.uint64(0xFFFFFFE0)) | ((lin >> np.uint64(27)) & np.uint64(0x18))) & a20
    pdpte = phys_read64(s, pdpte_addr)
    if pdpte & PTE_P == 0:
        return _page_fault(s, lin, 0, is_write, user, access)
    pde_addr = ((pdpte & PAE_ADDR) | ((lin >> np.uint64(18)) & np.uint64(0xFF8))) & a20
    pde = phys_read64(s, pde_addr)
    if pde & PTE_P == 0:
        return _page_fault(s, lin, 0, is_write, user, access)
    if pde & PTE_PS:
        pte, pte_addr = pde, pde_addr
        page_base = pde & np.uint64(0x000FFFFFFFE00000)
        offset = lin & np.uint64(0x1FFFFF)
        perm = pde
        nx = pde & PTE_NX
    else:
        pte_addr = ((pde & PAE_ADDR) | ((lin >> np.uint64(9)) & np.uint64(0xFF8))) & a20
        pte = phys_read64(s, pte_addr)
        if pte & PTE_P == 0:
            return _page_fault(s, lin, 0, is_write, user, access)
        page_base = pte & PAE_ADDR
        offset = lin & np.uint64(0xFFF)
        perm = pde & pte
        nx = (pde | pte) & PTE_NX
    if user and perm & PTE_U == 0:
        return _page_fault(s, lin, 1, is_write, user, access)
    can_write = perm & PTE_W != 0 or (not user and s.cr[0] & CR0_WP == 0)
    if is_write and not can_write:
        return _page_fault(s, lin, 1, is_write, user, access)
    if access == ACC_CODE and nxe and nx:
        return _page_fault(s, lin, 1, is_write, user, access)
    if pde_addr != pte_addr and pde & PTE_A == 0:
        phys_write32(s, pde_addr, (pde | PTE_A) & np.uint64(0xFFFFFFFF))
    new_pte = pte | PTE_A
    if is_write:
        new_pte |= PTE_D
    if new_pte != pte:
        phys_write32(s, pte_addr, new_pte & np.uint64(0xFFFFFFFF))
    writable = can_write and (new_pte & PTE_D != 0)
    phys = page_base | offset
    if phys >> np.uint64(32):
        phys = np.uint64(0xFFFFF000) | (phys & np.uint64(0xFFF))   # beyond 4 GB: unassigned
    return T_OK, phys & a20, writable


@njit(cache=True, nogil=True)
def translate(s, lin, access, user):
    """Translate linear address `lin` for an access by `user` (CPL 3) code.

    Returns (status, physical address, writable) where writable says whether
    a later write through the same TLB entry may skip the walk (W permission
    and the dirty bit already set).  On a fault the #PF is recorded in s.
    """
    lin = np.uint64(lin) & np.uint64(0xFFFFFFFF)
    a20 = np.uint64(s.a20_mask)
    if s.cr[0] & CR0_PG == 0:
        return T_OK, lin & a20, True
    if s.cr[4] & CR4_PAE:
        return translate_pae(s, lin, access, user)
    is_write = access == ACC_WRITE
    pde_addr = ((np.uint64(s.cr[3]) & np.uint64(0xFFFFF000)) | ((lin >> np.uint64(20)) & np.uint64(0xFFC))) & a20
    pde = phys_read32(s, pde_addr)
    if pde & PTE_P == 0:
        return _page_fault(s, lin, 0, is_write, user, access)
    if pde & PTE_PS and s.cr[4] & CR4_PSE:
        pte = pde
        pte_addr = pde_addr
        page_base = pde & np.uint64(0xFFC00000)
        offset = lin & np.uint64(0x3FFFFF)
        perm = pde
    else:
        pte_addr = ((pde & np.uint64(0xFFFFF000)) | ((lin >> np.uint64(10)) & np.uint64(0xFFC))) & a20
        pte = phys_read32(s, pte_addr)
        if pte & PTE_P == 0:
            return _page_fault(s, lin, 0, is_write, user, access)
        page_base = pte & np.uint64(0xFFFFF000)
        offset = lin & np.uint64(0xFFF)
        perm = pde & pte
    # SDM 4.6: user accesses need U everywhere; writes need W for users, and
    # for supervisors too when CR0.WP is set.
    if user and perm & PTE_U == 0:
        return _page_fault(s, lin, 1, is_write, user, access)
    can_write = perm & PTE_W != 0 or (not user and s.cr[0] & CR0_WP == 0)
    if is_write and not can_write:
        return _page_fault(s, lin, 1, is_write, user, access)
    # accessed and dirty bits
    if pde_addr != pte_addr and pde & PTE_A == 0:
        phys_write32(s, pde_addr, pde | PTE_A)
    new_pte = pte | PTE_A
    if is_write:
        new_pte |= PTE_D
    if new_pte != pte:
        phys_write32(s, pte_addr, new_pte)
    writable = can_write and (new_pte & PTE_D != 0)
    return T_OK, (page_base | offset) & a20, writable


@njit(cache=True, nogil=True)
def _page_fault(s, lin, protection, is_write, user, access):
    code = protection
    if is_write:
        code |= 2
    if user:
        code |= 4
    if access == ACC_CODE and s.cr[4] & CR4_PAE and s.efer & EFER_NXE:
        code |= 16                     # I/D: the fault was an instruction fetch
    s.exc_vector = PF_VECTOR
    s.exc_error = code
    s.exc_flags = 2            # EXC_HAS_ERROR
    s.exc_addr = lin
    s.cr[2] = lin
    return T_FAULT, np.uint64(0), False
