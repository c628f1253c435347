"""GNU as and ld for pyemu's bare-metal images: the BIOS (bios.py), the demo
(emu/demo) and the test guests assemble their sources with them."""
import os
import pathlib
import platform
import shutil
import subprocess


class ToolchainError(Exception):
    """The GNU assembler/linker is missing or failed (the message says what to do)."""


def find_binutils():
    """(as, ld) paths of a GNU binutils that can build 32-bit x86 ELF files.

    On an x86 host the native `as`/`ld` do (with --32 / -m elf_i386); on
    another host (pyemu runs wherever llvmlite does) a cross binutils is needed.
    """
    native_x86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i486", "i586", "i686", "x86")
    candidates = [("as", "ld")] if native_x86 else []
    candidates += [("x86_64-linux-gnu-as", "x86_64-linux-gnu-ld"), ("i686-linux-gnu-as", "i686-linux-gnu-ld")]
    for as_name, ld_name in candidates:
        as_path, ld_path = shutil.which(as_name), shutil.which(ld_name)
        if as_path and ld_path:
            return as_path, ld_path
    if native_x86:
        hint = "install binutils (e.g. 'apt install binutils' or 'dnf install binutils')"
    else:
        hint = ("install an x86 cross binutils (e.g. 'apt install binutils-x86-64-linux-gnu'); "
                "the native 'as' of a %s host cannot assemble x86 code" % platform.machine())
    raise ToolchainError("the GNU assembler and linker ('as', 'ld') were not found: " + hint)


def build_elf(source, linker_script, out_elf, include_dirs=(), defsyms=(), workdir=None):
    """Assemble one GNU as source (--32) and link it with linker_script into out_elf.

    include_dirs: searched by .include and .incbin.  defsyms: (name, value)
    pairs for --defsym.  Raises ToolchainError with the tools' messages."""
    as_path, ld_path = find_binutils()
    out_elf = pathlib.Path(out_elf)
    workdir = pathlib.Path(workdir) if workdir else out_elf.parent
    obj = workdir / (out_elf.stem + ".o")
    as_cmd = [as_path, "--32", "-o", str(obj)]
    for d in include_dirs:
        as_cmd += ["-I", str(d)]
    for name, value in defsyms:
        as_cmd += ["--defsym", "%s=%s" % (name, value)]
    as_cmd.append(str(source))
    ld_cmd = [ld_path, "-m", "elf_i386", "-nostdlib", "-static", "--build-id=none",
              "-T", str(linker_script), "-o", str(out_elf), str(obj)]
    for cmd in (as_cmd, ld_cmd):
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if p.returncode != 0:
            raise ToolchainError("%s failed (exit status %d):\n%s"
                                 % (os.path.basename(cmd[0]), p.returncode, p.stdout.rstrip()))
    return out_elf
