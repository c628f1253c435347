"""Why native code returned to Python (the i32 every block and the dispatcher return)."""

EXIT_REQUEST = 1     # exit_request was set or the instruction budget ran out; EIP is valid
EXIT_MISS = 2        # the dispatcher found no translation for EIP
EXIT_LINK = 3        # the dispatcher found one, and an unlinked chain slot waits to be linked
EXIT_EXCEPTION = 4   # exc_vector/exc_error/exc_flags describe an exception to deliver
EXIT_HLT = 5         # HLT executed; EIP points past it
EXIT_STOP = 6        # a Python helper asked to leave native code (EIP set by the helper)
EXIT_DEBUG = 7       # a debugger breakpoint at EIP (the instruction has not run)
EXIT_HOT = 8         # a tier-1 block at EIP became hot (nothing of it ran): translate it at tier 2

NAMES = {EXIT_REQUEST: "request", EXIT_MISS: "miss", EXIT_LINK: "link",
         EXIT_EXCEPTION: "exception", EXIT_HLT: "hlt", EXIT_STOP: "stop", EXIT_DEBUG: "debug",
         EXIT_HOT: "hot"}

# Status returned by Python helpers called from generated code.
HELPER_OK = 0        # continue with the next instruction
HELPER_FAULT = 1     # an exception is recorded in the state: leave through the fault exit
HELPER_STOP = 2      # leave native code with EXIT_STOP (state fully written by the helper)
HELPER_JUMP = 3      # continue at the EIP the helper stored (mode may have changed)
