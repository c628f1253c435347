"""What a slow-path memory access left in CpuState.mem_status.

The MMU's native slow paths (emu/softmmu/tlb.py) set it; the translator's
runtime wrappers (emu/translator/runtime.py) read it to call Python for MMIO
or self-modifying code, or to leave through the fault exit.
"""

MEM_OK = 0
MEM_FAULT = 1        # exception recorded in the state (exc_vector, exc_error, exc_flags)
MEM_MMIO = 2         # device access needed at physical address exc_addr
MEM_CODE = 3         # write to a page holding translated code at exc_addr
