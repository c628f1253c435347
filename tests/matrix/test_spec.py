"""Matrix files (emu/matrix/spec.py): parsing, the product, and clear errors for bad files."""
import pathlib
import textwrap

import pytest

from emu.matrix import MatrixError, load_matrix, loads_matrix
from emu.matrix.cli import main as cli_main
from emu.matrix.runner import _printf_chunks
from emu.matrix.spec import DEFAULT_APPEND, DEFAULT_BOOT_TIMEOUT, DEFAULT_READY, DEFAULT_TIMEOUT


@pytest.fixture
def files(tmp_path):
    (tmp_path / "guests").mkdir()
    (tmp_path / "guests" / "bzImage").write_bytes(b"k")
    (tmp_path / "guests" / "initrd.img").write_bytes(b"i")
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "t.sh").write_text("#!/bin/sh\necho 'hi'\n")
    return tmp_path


def write(dirpath, text, name="m.toml"):
    path = dirpath / name
    path.write_text(textwrap.dedent(text))
    return path


GOOD = """
    [defaults]
    timeout = 30
    memory = 96

    [[config]]
    name = "a"
    kernel = "guests/bzImage"
    initrd = "guests/initrd.img"
    args = ["-icount", "auto"]

    [[config]]
    name = "b"
    image = "tiny"
    append = "console=ttyS0 quiet"
    memory = "1G"
    boot_timeout = 50
    ready = "# $"
    poweroff = false

    [[test]]
    name = "uname"
    command = "uname -s"
    expect_output = "^Linux$"

    [[test]]
    name = "script"
    script = "checks/t.sh"
    expect_status = 3
    timeout = 5.5
    configs = ["b"]

    [[test]]
    name = "only-a"
    command = "true"
    configs = ["a"]
"""


def test_parse_and_product(files):
    m = load_matrix(write(files, GOOD))
    a, b = m.configs
    assert a.name == "a" and a.kernel == str(files / "guests" / "bzImage")
    assert a.initrd == str(files / "guests" / "initrd.img")
    assert a.image is None and a.append is None and a.args == ("-icount", "auto")
    assert a.memory == "96M"                       # [defaults], an int in MiB
    assert a.ready == DEFAULT_READY and a.boot_timeout == DEFAULT_BOOT_TIMEOUT and a.poweroff
    assert b.image == "tiny" and b.kernel is None and b.append == "console=ttyS0 quiet"
    assert b.memory == "1G" and b.boot_timeout == 50 and b.ready == "# $" and not b.poweroff

    uname, script, only_a = m.tests
    assert uname.command == "uname -s" and uname.script is None and uname.expect_status == 0
    assert uname.expect_output == "^Linux$" and uname.timeout == 30 and uname.configs is None
    assert script.command is None and script.script == b"#!/bin/sh\necho 'hi'\n"
    assert script.script_name == str(files / "checks" / "t.sh")
    assert script.expect_status == 3 and script.timeout == 5.5 and script.configs == ("b",)

    # the product, configurations outer, each test only where it allows itself
    assert [c.name for c in m.cases()] == ["a/uname", "a/only-a", "b/uname", "b/script"]


def test_defaults_and_timeout_override(files):
    text = """
        [[config]]
        name = "c"
        kernel = "guests/bzImage"
        [[test]]
        name = "t"
        command = "true"
        [[test]]
        name = "own"
        command = "true"
        timeout = 7
    """
    m = load_matrix(write(files, text))
    assert m.configs[0].initrd is None and m.tests[0].timeout == DEFAULT_TIMEOUT
    m = load_matrix(write(files, text), timeout=12)    # pyemu-test --timeout: tests without their own
    assert [t.timeout for t in m.tests] == [12, 7]
    assert DEFAULT_APPEND.startswith("console=ttyS0")


def test_absolute_paths_and_loads(files):
    m = loads_matrix('[[config]]\nname="x"\nkernel="%s"\n[[test]]\nname="t"\ncommand="true"\n'
                     % (files / "guests" / "bzImage"), base_dir="/nonexistent")
    assert m.configs[0].kernel == str(files / "guests" / "bzImage")


BAD = [
    ("[[config]\nname = 'a'", r"m\.toml: invalid TOML: .*line 1"),
    ("[[test]]\nname='t'\ncommand='true'", r"no \[\[config\]\] entries"),
    ("[[config]]\nname='a'\nimage='tiny'", r"no \[\[test\]\] entries"),
    ("config = 3\n[[test]]\nname='t'\ncommand='true'", r"'config' must be an array of tables"),
    ("colour = 1", r"unknown top-level key 'colour'"),
    ("[[config]]\nname='a'\nimage='tiny'\nkernal='x'\n[[test]]\nname='t'\ncommand='true'",
     r"\[\[config\]\] #1: unknown key 'kernal' \(known keys: .*kernel"),
    ("[[config]]\nimage='tiny'\n[[test]]\nname='t'\ncommand='true'", r"\[\[config\]\] #1: 'name' is missing"),
    ("[[config]]\nname='a'\n[[test]]\nname='t'\ncommand='true'",
     r"config 'a': give either 'image' or 'kernel' .*not neither"),
    ("[[config]]\nname='a'\nimage='tiny'\nkernel='guests/bzImage'\n[[test]]\nname='t'\ncommand='true'",
     r"config 'a': give either .* not both"),
    ("[[config]]\nname='a'\nkernel='guests/nope'\n[[test]]\nname='t'\ncommand='true'",
     r"config 'a': kernel .*guests/nope: no such file"),
    ("[[config]]\nname='a'\nimage='tiny-disk'\n[[test]]\nname='t'\ncommand='true'",
     r"config 'a': unknown image 'tiny-disk' \(images with an initrd: tiny, debian\)"),
    ("[[config]]\nname='a'\nimage='tiny'\nmemory=1.5\n[[test]]\nname='t'\ncommand='true'",
     r"'memory' must be an integer \(MiB\) or a string"),
    ("[[config]]\nname='a'\nimage='tiny'\nargs='-icount'\n[[test]]\nname='t'\ncommand='true'",
     r"'args' must be a list of strings"),
    ("[[config]]\nname='a'\nimage='tiny'\nready='('\n[[test]]\nname='t'\ncommand='true'",
     r"'ready' is not a valid regex"),
    ("[[config]]\nname='a'\nimage='tiny'\n[[config]]\nname='a'\nimage='tiny'\n[[test]]\nname='t'\ncommand='true'",
     r"\[\[config\]\] #2: duplicate name 'a'"),
    ("[[config]]\nname='a/b'\nimage='tiny'\n[[test]]\nname='t'\ncommand='true'", r"bad name 'a/b'"),
    ("[[config]]\nname='a'\nimage='tiny'\n[[test]]\nname='t'", r"test 't': give either 'command' or 'script'"),
    ("[[config]]\nname='a'\nimage='tiny'\n[[test]]\nname='t'\ncommand='true'\nscript='checks/t.sh'",
     r"test 't': give either .* not both"),
    ("[[config]]\nname='a'\nimage='tiny'\n[[test]]\nname='t'\ncommand='''a\nb'''",
     r"'command' must be one non-empty line"),
    ("[[config]]\nname='a'\nimage='tiny'\n[[test]]\nname='t'\nscript='checks/none.sh'",
     r"test 't': script .*none\.sh: no such file"),
    ("[[config]]\nname='a'\nimage='tiny'\n[[test]]\nname='t'\ncommand='true'\ntimeout=0",
     r"'timeout' must be a positive number"),
    ("[[config]]\nname='a'\nimage='tiny'\n[[test]]\nname='t'\ncommand='true'\ntimeout=true",
     r"'timeout' must be a positive number, not True"),
    ("[[config]]\nname='a'\nimage='tiny'\n[[test]]\nname='t'\ncommand='true'\nexpect_status='0'",
     r"'expect_status' must be an integer"),
    ("[[config]]\nname='a'\nimage='tiny'\n[[test]]\nname='t'\ncommand='true'\nexpect_output='[a'",
     r"'expect_output' is not a valid regex"),
    ("[[config]]\nname='a'\nimage='tiny'\n[[test]]\nname='t'\ncommand='true'\nconfigs=['a', 'zz']",
     r"test 't': 'configs' names 'zz', which is no configuration \(configurations: a\)"),
    ("[defaults]\nname='x'\n[[config]]\nname='a'\nimage='tiny'\n[[test]]\nname='t'\ncommand='true'",
     r"\[defaults\]: unknown key 'name'"),
]


@pytest.mark.parametrize("text,message", BAD, ids=[m for _, m in BAD])
def test_bad_files_are_refused_clearly(files, text, message):
    path = write(files, text)
    with pytest.raises(MatrixError, match=message) as e:
        load_matrix(path)
    assert str(e.value).startswith(str(path) + ": ")      # the file is named


def test_missing_matrix_file(tmp_path):
    with pytest.raises(MatrixError, match=r"nope\.toml: cannot read the matrix file"):
        load_matrix(tmp_path / "nope.toml")


def test_cli_list_and_errors(files, capsys):
    path = write(files, GOOD)
    assert cli_main(["list", str(path)]) == 0
    assert capsys.readouterr().out.split() == ["a/uname", "a/only-a", "b/uname", "b/script"]
    bad = write(files, "[[config]]\nname='a'\n", name="bad.toml")
    assert cli_main(["run", str(bad)]) == 2
    assert "bad.toml: no [[test]] entries" in capsys.readouterr().err
    assert cli_main(["run", str(path), "--workers", "0"]) == 2


def test_script_typing_escapes_everything_special():
    data = "#!/bin/sh\necho 'a%b' \"\\\\\"\tx\n".encode() + bytes([0, 200, 127])
    chunks = _printf_chunks(data, width=16)
    assert all(len(c) <= 16 for c in chunks)
    text = "".join(chunks)
    assert not set(text) & set("'%\n\t") and all(32 <= ord(ch) < 127 for ch in text)
    # printf's octal escapes give back the bytes exactly
    import subprocess
    out = subprocess.run(["sh", "-c", "for c; do printf \"$c\"; done", "sh"] + chunks,
                         capture_output=True, check=True).stdout
    assert out == data
    assert _printf_chunks(b"") == [""]


def test_the_example_matrix_loads():
    path = pathlib.Path(__file__).resolve().parents[2] / "examples" / "matrix.toml"
    m = load_matrix(path)
    assert [c.image for c in m.configs] == ["tiny", "tiny"]
    assert "tiny-64M/quiet-boot" in [c.name for c in m.cases()]
    assert "tiny/quiet-boot" not in [c.name for c in m.cases()]
