"""Shared fixtures.  Test options of the suites are registered here too."""
import signal

import pytest

from emu.snippet import Snippet
from emu.testing import booted_guest, guest_session, pytest_runtest_makereport  # noqa: F401  (guest fixtures)


# A shell without job control starts background jobs with SIGINT ignored, and
# an ignored signal stays ignored in every child: the pyemu processes the tests
# interrupt would ignore Ctrl-C (as a user's `pyemu ... &` rightly does).  A
# handler here is reset to the default in each child.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def _snippet32_machine():
    s = Snippet(bits=32)
    yield s
    s.close()


@pytest.fixture
def snippet32(_snippet32_machine):
    return _snippet32_machine


# --- tests/frontend: decoder vs capstone ----------------------------------------------------
def pytest_addoption(parser):
    group = parser.getgroup("pyemu")
    group.addoption("--decoder-cases", type=int, default=100000,
                    help="random byte strings per CPU mode in the decoder-vs-capstone test "
                         "(tests/frontend; default 100000)")
    group.addoption("--decoder-seed", default="pyemu",
                    help="seed of those strings; 'random' picks a new one (printed)")
    # tests/semantics: instruction semantics, pyemu vs Unicorn
    group.addoption("--semantics-cases", type=int, default=None,
                    help="random (fragment, state) runs over all families and both modes in the "
                         "semantics-vs-Unicorn test (tests/semantics; default 20000)")
    group.addoption("--semantics-seed", default=None,
                    help="seed of the semantics cases (default fixed, printed); 'random' picks one")


@pytest.fixture(scope="session")
def decoder_cases(request):
    return request.config.getoption("--decoder-cases")


@pytest.fixture(scope="session")
def decoder_seed(request):
    seed = request.config.getoption("--decoder-seed")
    if seed == "random":
        import random
        seed = "%016x" % random.SystemRandom().getrandbits(64)
    return seed
