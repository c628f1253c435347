"""Fixtures of the copy-and-patch tests: a host library of the test stencils, an arena far
from the process's other code, and the runtime functions the stencils call."""
import pytest

from emu.translator.cnp import Arena, Emitter, build_library

from .harness import FAR_HINT, Runtime
from .stencil_ir import module


@pytest.fixture(scope="session")
def host_lib():
    return build_library(module())


@pytest.fixture(scope="session")
def runtime():
    return Runtime()


@pytest.fixture(scope="session")
def far_arena():
    arena = Arena(64 << 20, address_hint=FAR_HINT)
    yield arena
    arena.close()


@pytest.fixture(scope="session")
def emitter(host_lib, far_arena, runtime):
    return Emitter(host_lib, far_arena, runtime.addresses)
