"""Matrix files: guest configurations x tests, in TOML.

    [defaults]                      # optional: fallbacks for every config and test below
    timeout = 30                    # a test's limit, seconds (default 60)
    boot_timeout = 300              # from process start to the ready pattern (default 300)

    [[config]]
    name = "tiny"
    image = "tiny"                  # a pyemu image (emu.images), resolved on each worker ...
    memory = 128                    # MiB (an int) or pyemu's spelling ("128M", "1G")

    [[config]]
    name = "tiny-icount"
    kernel = "guests/bzImage"       # ... or files; relative paths are relative to this file
    initrd = "guests/initrd.img"
    append = "console=ttyS0 panic=-1"
    args = ["-icount", "auto"]      # extra pyemu arguments
    restore = true                  # boot once (on each machine), then start every
                                    # case from that boot's snapshot (emu/booted.py)
    ready = '\\[pyemu [^\\]]*\\]# ' # regex on the console: the guest takes commands
                                    # (default: the prompt of pyemu's images)

    [[test]]
    name = "uname"
    command = "uname -s"            # one shell command line, run in the guest
    expect_output = "^Linux$"       # optional regex, searched (multi-line) in its output
    expect_status = 0               # its exit status (default 0)

    [[test]]
    name = "selftest"
    script = "checks/selftest.sh"   # a file typed into the guest and run there
    timeout = 120
    configs = ["tiny"]              # run on these configurations only (default: all)

The matrix is the product: every test on every configuration it allows, in
file order (configurations outer, tests inner).  Unknown keys, a wrong type,
a missing file, a duplicate name or a `configs` entry that names no
configuration are errors (MatrixError) that name the file and the entry.
"""
import dataclasses
import os
import pathlib
import re
import tomllib

DEFAULT_TIMEOUT = 60.0
DEFAULT_BOOT_TIMEOUT = 300.0
DEFAULT_APPEND = "console=ttyS0 panic=-1"
# the shell prompt of pyemu's images (emu/images/profile; emu.images.PROMPT_RE)
DEFAULT_READY = r"\[pyemu [^\]\r\n]*\]# "
MAX_SCRIPT_BYTES = 64 << 10         # typed over the serial console: keep it small


class MatrixError(ValueError):
    """A matrix file that cannot be used; the message names the file and the entry."""


@dataclasses.dataclass(frozen=True)
class Config:
    """One guest configuration: how to boot it and how to know it is ready."""
    name: str
    kernel: str = None              # absolute paths (resolved against the matrix file)
    initrd: str = None
    image: str = None               # or a pyemu image name, resolved on the worker
    append: str = None              # None: the image's hint, else DEFAULT_APPEND
    memory: str = None              # pyemu -m spelling
    args: tuple = ()
    ready: str = DEFAULT_READY
    boot_timeout: float = DEFAULT_BOOT_TIMEOUT
    poweroff: bool = True           # end with `reboot -f` (pyemu saves its caches) rather than a kill
    restore: bool = False           # start from the booted snapshot (emu/booted.py) instead of booting


@dataclasses.dataclass(frozen=True)
class Test:
    """One test: a command line, or a script typed into the guest and run."""
    name: str
    command: str = None
    script: bytes = None            # the script's contents (read when the file is loaded)
    script_name: str = None         # its path, for messages
    expect_status: int = 0
    expect_output: str = None
    timeout: float = DEFAULT_TIMEOUT
    configs: tuple = None           # None: every configuration


@dataclasses.dataclass(frozen=True)
class Case:
    """One cell of the matrix."""
    config: Config
    test: Test

    @property
    def name(self):
        return "%s/%s" % (self.config.name, self.test.name)


@dataclasses.dataclass
class Matrix:
    configs: list
    tests: list
    path: pathlib.Path = None

    def cases(self):
        """The product: each test on each configuration it allows, configurations outer."""
        return [Case(c, t) for c in self.configs for t in self.tests
                if t.configs is None or c.name in t.configs]


# key -> (accepted types, description for messages)
_NUM = ((int, float), "a positive number")
_STR = ((str,), "a string")
_CONFIG_KEYS = {
    "name": _STR, "kernel": _STR, "initrd": _STR, "image": _STR, "append": _STR,
    "memory": ((int, str), "an integer (MiB) or a string such as \"128M\""),
    "args": ((list,), "a list of strings"), "ready": _STR, "boot_timeout": _NUM,
    "poweroff": ((bool,), "true or false"), "restore": ((bool,), "true or false"),
}
_TEST_KEYS = {
    "name": _STR, "command": _STR, "script": _STR,
    "expect_status": ((int,), "an integer"), "expect_output": _STR, "timeout": _NUM,
    "configs": ((list,), "a list of configuration names"),
}
_DEFAULT_KEYS = {k: v for k, v in dict(_CONFIG_KEYS, **_TEST_KEYS).items()
                 if k in ("append", "memory", "args", "ready", "boot_timeout", "poweroff", "restore",
                          "expect_status", "timeout")}


def _check_keys(where, table, known):
    if not isinstance(table, dict):
        raise MatrixError("%s: expected a table, not %s" % (where, type(table).__name__))
    for key, value in table.items():
        if key not in known:
            raise MatrixError("%s: unknown key %r (known keys: %s)" % (where, key, ", ".join(sorted(known))))
        types, what = known[key]
        if isinstance(value, bool) and bool not in types:
            ok = False              # TOML's true is not a number here
        else:
            ok = isinstance(value, types)
        if ok and key in ("args", "configs"):
            ok = all(isinstance(v, str) for v in value)
        if ok and key in ("timeout", "boot_timeout"):
            ok = value > 0
        if not ok:
            raise MatrixError("%s: %r must be %s, not %r" % (where, key, what, value))


def _name(where, table, seen):
    name = table.get("name")
    if name is None:
        raise MatrixError("%s: 'name' is missing" % where)
    if not name.strip() or name != name.strip() or "/" in name:
        raise MatrixError("%s: bad name %r (non-empty, no '/', no surrounding spaces)" % (where, name))
    if name in seen:
        raise MatrixError("%s: duplicate name %r" % (where, name))
    seen.add(name)
    return name


def _file(where, key, value, base, check):
    path = pathlib.Path(os.path.expanduser(value))
    if not path.is_absolute():
        path = base / path
    if check and not path.is_file():
        raise MatrixError("%s: %s %s: no such file" % (where, key, path))
    return str(path)


def parse_matrix(data, base_dir=".", source="<matrix>", timeout=None, check_files=True):
    """A Matrix from a parsed TOML document (a dict).  base_dir: where relative paths
    start.  timeout: the per-test limit of tests that set none (before [defaults])."""
    base = pathlib.Path(base_dir).resolve()
    known_top = {"defaults", "config", "test"}
    for key in data:
        if key not in known_top:
            raise MatrixError("%s: unknown top-level key %r (expected [defaults], [[config]] and [[test]])"
                              % (source, key))
    defaults = data.get("defaults", {})
    _check_keys("%s: [defaults]" % source, defaults, _DEFAULT_KEYS)
    defaults = dict(defaults)
    if timeout is not None:
        if not timeout > 0:
            raise MatrixError("%s: the timeout must be positive, not %r" % (source, timeout))
        defaults["timeout"] = timeout

    raw_configs = data.get("config")
    raw_tests = data.get("test")
    for key, raw in (("config", raw_configs), ("test", raw_tests)):
        if raw is None or raw == []:
            raise MatrixError("%s: no [[%s]] entries (a matrix needs at least one configuration and one test)"
                              % (source, key))
        if not isinstance(raw, list):
            raise MatrixError("%s: %r must be an array of tables ([[%s]]), not %s"
                              % (source, key, key, type(raw).__name__))

    configs, seen = [], set()
    for i, table in enumerate(raw_configs):
        where = "%s: [[config]] #%d" % (source, i + 1)
        _check_keys(where, table, _CONFIG_KEYS)
        name = _name(where, table, seen)
        where = "%s: config %r" % (source, name)
        t = {k: v for k, v in defaults.items() if k in _CONFIG_KEYS}
        t.update(table)
        has_files = "kernel" in t or "initrd" in t
        if ("image" in t) == has_files:
            raise MatrixError("%s: give either 'image' or 'kernel' (with an optional 'initrd'), not %s"
                              % (where, "both" if has_files else "neither"))
        if "initrd" in t and "kernel" not in t:
            raise MatrixError("%s: 'initrd' without 'kernel'" % where)
        if "image" in t:
            from ..images.build import DISKS, IMAGES    # deferred: only a matrix naming an image needs it
            usable = [n for n in IMAGES if n not in DISKS]      # a disk image has no initrd to boot
            if t["image"] not in usable:
                raise MatrixError("%s: unknown image %r (images with an initrd: %s)"
                                  % (where, t["image"], ", ".join(usable)))
        memory = t.get("memory")
        if isinstance(memory, int) and not isinstance(memory, bool):
            memory = "%dM" % memory
        try:
            re.compile(t.get("ready", DEFAULT_READY))
        except re.error as e:
            raise MatrixError("%s: 'ready' is not a valid regex: %s" % (where, e)) from None
        configs.append(Config(
            name=name,
            kernel=_file(where, "kernel", t["kernel"], base, check_files) if "kernel" in t else None,
            initrd=_file(where, "initrd", t["initrd"], base, check_files) if "initrd" in t else None,
            image=t.get("image"), append=t.get("append"), memory=memory, args=tuple(t.get("args", ())),
            ready=t.get("ready", DEFAULT_READY),
            boot_timeout=float(t.get("boot_timeout", DEFAULT_BOOT_TIMEOUT)),
            poweroff=t.get("poweroff", True), restore=t.get("restore", False)))
    config_names = [c.name for c in configs]

    tests, seen = [], set()
    for i, table in enumerate(raw_tests):
        where = "%s: [[test]] #%d" % (source, i + 1)
        _check_keys(where, table, _TEST_KEYS)
        name = _name(where, table, seen)
        where = "%s: test %r" % (source, name)
        t = {k: v for k, v in defaults.items() if k in _TEST_KEYS}
        t.update(table)
        if ("command" in t) == ("script" in t):
            raise MatrixError("%s: give either 'command' or 'script', not %s"
                              % (where, "both" if "command" in t else "neither"))
        command = t.get("command")
        if command is not None and ("\n" in command or "\r" in command or not command.strip()):
            raise MatrixError("%s: 'command' must be one non-empty line (put several lines in a 'script' file)"
                              % where)
        script = script_name = None
        if "script" in t:
            script_name = _file(where, "script", t["script"], base, True)
            script = pathlib.Path(script_name).read_bytes()
            if len(script) > MAX_SCRIPT_BYTES:
                raise MatrixError("%s: script %s is %d bytes; at most %d are typed into a guest"
                                  % (where, script_name, len(script), MAX_SCRIPT_BYTES))
        if "expect_output" in t:
            try:
                re.compile(t["expect_output"])
            except re.error as e:
                raise MatrixError("%s: 'expect_output' is not a valid regex: %s" % (where, e)) from None
        allowed = None
        if "configs" in t:
            allowed = tuple(t["configs"])
            unknown = [c for c in allowed if c not in config_names]
            if unknown:
                raise MatrixError("%s: 'configs' names %s, which %s no configuration (configurations: %s)"
                                  % (where, ", ".join(map(repr, unknown)), "is" if len(unknown) == 1 else "are",
                                     ", ".join(config_names)))
        tests.append(Test(name=name, command=command, script=script, script_name=script_name,
                          expect_status=t.get("expect_status", 0), expect_output=t.get("expect_output"),
                          timeout=float(t.get("timeout", DEFAULT_TIMEOUT)), configs=allowed))
    return Matrix(configs=configs, tests=tests)


def loads_matrix(text, base_dir=".", source="<matrix>", **kwargs):
    """A Matrix from TOML text (see parse_matrix for the keyword arguments)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise MatrixError("%s: invalid TOML: %s" % (source, e)) from None
    return parse_matrix(data, base_dir=base_dir, source=source, **kwargs)


def load_matrix(path, **kwargs):
    """The Matrix of the TOML file at path; relative paths in it start at its directory.
    timeout=S: the limit of tests that set none (overrides [defaults] timeout)."""
    path = pathlib.Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise MatrixError("%s: cannot read the matrix file: %s" % (path, e.strerror or e)) from None
    except UnicodeDecodeError as e:
        raise MatrixError("%s: not UTF-8 text: %s" % (path, e)) from None
    m = loads_matrix(text, base_dir=path.resolve().parent, source=str(path), **kwargs)
    m.path = path
    return m
