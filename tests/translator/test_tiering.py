"""Tiering: cold blocks at tier 1, hot ones replaced in place by tier 2, and
everything a block guarantees (results, precise faults, self-modifying code,
chaining, instruction counts, -icount determinism, -d logs) holds on each tier."""
import ctypes
import pathlib
import random
import shutil
import subprocess
import sys

import pytest

from emu.cpu import hflags as H
from emu.snippet import CODE_ADDR, Snippet
from emu.translator.translator import tier_from_env

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "guests"))

import guestlib  # noqa: E402

# mov ecx, 500; l: add eax, ecx; xor edx, eax; dec ecx; jnz l
LOOP = bytes.fromhex("b9f4010000 01c8 31c2 49 75f9")
LOOP_EAX = sum(range(1, 501))


def _loop_edx():
    eax = edx = 0
    for ecx in range(500, 0, -1):
        eax += ecx
        edx ^= eax
    return edx


@pytest.fixture
def tiered(monkeypatch, tmp_path):
    """A snippet machine per (tier, threshold), with a cache of its own."""
    made = []

    def make(tier="", hot="20", cache="1"):
        monkeypatch.setenv("PYEMU_TIER", tier)
        monkeypatch.setenv("PYEMU_HOT", hot)
        monkeypatch.setenv("PYEMU_CACHE", cache)
        monkeypatch.setenv("PYEMU_OBJCACHE_DIR", str(tmp_path))
        # O2 at once, on the run loop's thread: the tier-up happens where the tests look
        monkeypatch.setenv("PYEMU_BACKGROUND", "0")
        s = Snippet(bits=32)
        made.append(s)
        return s
    yield make
    for s in made:
        s.close()


@pytest.mark.parametrize("baseline,first", [("1", 0), ("0", 1)], ids=["baseline", "llvm-first"])
def test_hot_loop_is_translated_again_at_tier_2(tiered, monkeypatch, baseline, first):
    monkeypatch.setenv("PYEMU_BASELINE", baseline)
    s = tiered()
    r = s.run(LOOP)
    tr = s.machine.translator
    assert (r.regs["eax"], r.regs["edx"]) == (LOOP_EAX, _loop_edx())
    assert tr.tier_ups >= 1
    tiers = {tb.eip: tb.tier for tb in tr.cache.blocks.values()}
    assert tiers[CODE_ADDR + 5] == 2           # the loop body
    assert tiers[CODE_ADDR] == first           # ran once: stays at the first tier
    # every chain into a replaced block now leads to its tier-2 code
    for tb in tr.cache.blocks.values():
        for slot in tb.incoming:
            assert ctypes.c_uint64.from_address(slot).value == tb.fn


@pytest.mark.parametrize("tier", ["0", "1", "2"])
def test_forced_tier_gives_the_same_results_and_counts(tiered, tier):
    auto = tiered().run(LOOP)
    s = tiered(tier=tier)
    forced = s.run(LOOP)
    assert s.machine.translator.tier_ups == 0
    assert {tb.tier for tb in s.machine.translator.cache.blocks.values()} == {int(tier)}
    assert forced.regs == auto.regs and forced.eflags == auto.eflags
    assert forced.instructions == auto.instructions == 1 + 4 * 500 + 1


@pytest.mark.parametrize("tier", ["", "0", "1", "2"])
def test_fault_mid_block_is_precise_on_every_tier(tiered, tier):
    # l: inc eax; add ebx, 5; xor edx, edx; div dword [edi]; mov edx, 7; add edi, 4; dec esi; jnz l
    # the divisors are ten 1s and a 0: the block is hot (tier 2) when the 11th DIV faults
    code = bytes.fromhex("40 83c305 31d2 f737 ba07000000 83c704 4e 75ed")
    s = tiered(tier=tier, hot="3")
    s.write(0x20000, (1).to_bytes(4, "little") * 10 + bytes(4))
    r = s.run(code, regs={"eax": 10, "ebx": 1, "esi": 20, "edi": 0x20000})
    assert r.exception == 0 and r.eip == CODE_ADDR + 6
    assert (r.regs["eax"], r.regs["ebx"], r.regs["edx"]) == (21, 56, 0)
    assert (r.regs["edi"], r.regs["esi"]) == (0x20000 + 40, 10)
    # the flags of the XOR before the DIV: nothing of the DIV or after it happened
    assert r.eflags & (H.CF | H.ZF | H.SF | H.OF | H.PF) == H.ZF | H.PF
    assert r.instructions == 10 * 8 + 3
    if tier == "":
        assert s.machine.translator.tier_ups >= 1


@pytest.mark.parametrize("tier", ["", "0", "1", "2"])
def test_code_rewritten_after_tier_up_runs_the_new_code(tiered, tier):
    # l: add eax, 1 (imm32 at +1); dec ecx; jnz l -- hot, then the guest
    # rewrites the immediate and runs the loop again
    loop = CODE_ADDR + 0x100
    body = bytes.fromhex("0501000000 49 75f8 c3")
    code = (bytes.fromhex("b964000000") + b"\xe8" + (loop - (CODE_ADDR + 10)).to_bytes(4, "little", signed=True)
            + bytes.fromhex("c705") + (loop + 1).to_bytes(4, "little") + (3).to_bytes(4, "little")
            + bytes.fromhex("b964000000") + b"\xe8" + (loop - (CODE_ADDR + 30)).to_bytes(4, "little", signed=True))
    s = tiered(tier=tier, hot="10")
    s.write(loop, body)
    r = s.run(code, regs={"esp": 0x80000})
    assert r.regs["eax"] == 100 * 1 + 100 * 3
    if tier == "":
        assert s.machine.translator.tier_ups >= 1


def test_nochain_with_tiering(tiered, monkeypatch):
    s = tiered()
    s.machine.config.nochain = True
    s.machine.tbs.attach(s.machine.env, chain=False)
    r = s.run(LOOP)
    assert (r.regs["eax"], r.regs["edx"]) == (LOOP_EAX, _loop_edx())
    assert s.machine.translator.tier_ups >= 1
    assert all(not tb.incoming for tb in s.machine.translator.cache.blocks.values())


def test_tier_switch_rejects_nonsense(monkeypatch):
    monkeypatch.setenv("PYEMU_TIER", "3")
    with pytest.raises(ValueError, match="PYEMU_TIER"):
        tier_from_env()


# --- the semantics suite on each tier (a slice of it: tests/semantics runs it all) ---------------
@pytest.mark.parametrize("tier", ["0", "1", "2"])
def test_semantics_against_unicorn_on_each_tier(monkeypatch, tmp_path, tier):
    from tests.semantics.families import FAMILIES
    from tests.semantics.harness import Machines, run_family
    monkeypatch.setenv("PYEMU_TIER", tier)
    monkeypatch.setenv("PYEMU_OBJCACHE_DIR", str(tmp_path))
    machines = Machines()
    failures = []
    try:
        for name, (gen, _, modes) in FAMILIES.items():
            for bits in modes:
                st = run_family(machines, name, gen, 24, "tier%s" % tier, bits, states_per_case=3, max_reports=1)
                if st.failed_runs:
                    failures.append("%s/%d: %s" % (name, bits, st.failures[0]))
        py = machines.py(32)
        assert {tb.tier for tb in py.snip.machine.translator.cache.blocks.values()} == {int(tier)}
    finally:
        machines.close()
    assert not failures, "\n\n".join(failures)


# --- whole guests: -icount determinism, logs ---------------------------------------------------------
@pytest.fixture(scope="module")
def ticks_elf(tmp_path_factory):
    try:
        return guestlib.build(HERE / "src" / "ticks.S", tmp_path_factory.mktemp("ticks"))
    except guestlib.ToolchainError as e:
        pytest.fail("cannot build the ticks guest: %s" % e)


def _pyemu(elf, env, extra=()):
    e = dict(guestlib._pyemu_env(), **env)
    p = subprocess.run(guestlib.pyemu_command(elf, extra), capture_output=True, env=e, timeout=300)
    return p.returncode, p.stdout.decode("latin-1"), p.stderr.decode("latin-1")


def test_icount_runs_are_identical_on_every_tier_and_cache_state(ticks_elf, tmp_path):
    outs = {}
    for name, env in (("auto cold", {"PYEMU_HOT": "20"}), ("auto warm", {"PYEMU_HOT": "20"}),
                      ("baseline", {"PYEMU_TIER": "0"}), ("tier 1", {"PYEMU_TIER": "1"}),
                      ("tier 2", {"PYEMU_TIER": "2"}), ("llvm first", {"PYEMU_BASELINE": "0", "PYEMU_HOT": "20"}),
                      ("no cache", {"PYEMU_CACHE": "0", "PYEMU_HOT": "7"})):
        env = dict(env, PYEMU_OBJCACHE_DIR=str(tmp_path))
        outs[name] = _pyemu(ticks_elf, env, ["-icount", "3"])
        assert outs[name][0] == (0x21 << 1) | 1, outs[name]
    assert len({o[1] for o in outs.values()}) == 1, outs
    assert "ticks done" in outs["tier 1"][1]
    qemu = shutil.which(guestlib.QEMU)
    if qemu:
        # the same virtual time model: one instruction is 2^3 ns on both
        p = subprocess.run([qemu, "-kernel", str(ticks_elf), "-icount", "3"] + guestlib.QEMU_ARGS,
                           capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        assert p.stdout.decode("latin-1") == outs["tier 1"][1]


def test_translation_log_shows_both_tiers(tmp_path):
    elf = guestlib.build("exit", tmp_path)
    log = tmp_path / "pyemu.log"
    rc, _, err = _pyemu(elf, {"PYEMU_HOT": "1", "PYEMU_OBJCACHE_DIR": str(tmp_path)},
                        ["-d", "in_asm,op,op_opt,out_asm", "-D", str(log)])
    text = log.read_text()
    assert "IN:" in text and "OP (LLVM IR):" in text and "OUT (host assembly):" in text
    assert "block tb1_" in text and "block tb2_" in text, text[:2000]


def test_same_code_on_two_physical_pages_gets_two_copies(tiered):
    """Identical bytes at the same EIP in two address spaces are two live blocks:
    they must not share chain slots or a counter (each slot leads into one page's code)."""
    s = tiered(tier="1")
    tr = s.machine.translator
    s.write(CODE_ADDR, LOOP + b"\xf4")
    s._enter(CODE_ADDR)
    cpu = s.cpu
    hflags = cpu.hflags
    insns, ranges = tr.decode_at(CODE_ADDR + 5, 5, hflags, False)
    n = ranges[0][1]
    a = tr._make_block(insns, [(0x50000, n)], CODE_ADDR + 5, 5, CODE_ADDR, hflags, 1)
    tr.cache.add(a)
    b = tr._make_block(insns, [(0x60000, n)], CODE_ADDR + 5, 5, CODE_ADDR, hflags, 1)
    tr.cache.add(b)
    assert a.fn != b.fn and a.slots_addr != b.slots_addr
    # once a block is gone its code is reused (same bytes, nothing compiled again)
    compiled = tr.compiled
    tr.cache.invalidate(a)
    c = tr._make_block(insns, [(0x70000, n)], CODE_ADDR + 5, 5, CODE_ADDR, hflags, 1)
    assert c.fn == a.fn and tr.compiled == compiled
