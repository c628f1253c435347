"""Slow paths called from generated code.

Native ones (numba @cfunc) are in emu/softmmu; the Python ones here are
registered with callbacks.python_helper and called as
`g.call_python("helper_name", a0, a1, a2)`.  A helper receives the machine and
returns a HELPER_* status (exits.py); it reads and writes the CPU state
through machine.cpu, which generated code has fully written before the call.
"""
from . import control, far, interrupts, system, tasks, x87  # noqa: F401  (registers the helpers)
