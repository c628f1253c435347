"""Linear -> physical translation: the x86 page walk (native, numba).

With CR0.PG clear the linear address is the physical one (masked by A20).
With paging on, the 2-level walk of Intel SDM Vol. 3A 4.3 with 4 MB pages when
CR4.PSE is set; protection checks, accessed/dirty updates and #PF error codes
as SDM 4.6 and 4.7 describe.
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
    s.exc_vector = PF_VECTOR
    s.exc_error = code
    s.exc_flags = 2            # EXC_HAS_ERROR
    s.exc_addr = lin
    s.cr[2] = lin
    return T_FAULT, np.uint64(0), False
