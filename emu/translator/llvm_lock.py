"""One lock around LLVM's parsing, optimising and code generation.

The translator uses LLVM on two threads: the run loop (blocks LLVM makes
directly, stencils built on demand, the dispatcher) and the O2 compiler
thread (compiler.py).  Each compile has a context of its own, but a run of
the test suite once ended in an LLVM assertion inside instruction selection
("DAG root value is not a chain!") with both threads compiling; LLVM does
not promise that two compiles in one process are independent, so they take
turns.  The run loop rarely compiles once stencils exist, and the compiler
thread's batches take milliseconds, so the wait is short.
"""
import threading

LLVM_LOCK = threading.RLock()
