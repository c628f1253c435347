"""The runtime module's object code is kept in the cache (emu/translator/runtime.py
_runtime_object): compiled once per IR and host, read back at every start, and
compiled again, with a warning, when the file is damaged."""
import pytest

from emu.translator import runtime as R


@pytest.fixture
def cached(tmp_path, monkeypatch):
    import emu
    monkeypatch.setattr(emu, "cache_root", lambda: tmp_path)
    monkeypatch.delenv("PYEMU_CACHE", raising=False)
    engine = R.runtime().engine
    return engine, str(R.runtime().module_ir), tmp_path / "runtime"


def test_the_runtime_is_compiled_once_and_read_back(cached, monkeypatch):
    engine, ir_text, directory = cached
    first = R._runtime_object(engine, ir_text)
    files = list(directory.iterdir())
    assert len(files) == 1 and files[0].read_bytes()[32:] == first

    def no_compiling(*args, **kwargs):
        raise AssertionError("compiled although the cache holds the object")
    monkeypatch.setattr(engine, "compile_object", no_compiling)
    assert R._runtime_object(engine, ir_text) == first


def test_a_damaged_runtime_object_is_compiled_again(cached, capsys):
    engine, ir_text, directory = cached
    good = R._runtime_object(engine, ir_text)
    path = next(directory.iterdir())
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))
    assert R._runtime_object(engine, ir_text) == good
    assert "ignoring the damaged runtime object %s" % path in capsys.readouterr().err
    assert path.read_bytes()[32:] == good            # and the file is whole again


def test_without_the_cache_nothing_is_kept(cached, monkeypatch):
    engine, ir_text, directory = cached
    monkeypatch.setenv("PYEMU_CACHE", "0")
    assert R._runtime_object(engine, ir_text)
    assert not directory.exists()
