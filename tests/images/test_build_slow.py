"""Really building the images (minutes the first time) and booting them on
qemu-system-i386 to the shell, where a command runs and `reboot -f` ends qemu.
They use the user's image cache, so a build made before the tests (.ci/run) is reused."""
import re
import shutil
import subprocess
import sys

import pytest

from emu import images
from emu.images import tiny
from emu.images.build import is_bzimage

from .qemu_console import QemuConsole

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["tiny", "debian"])
def image(request):
    return images.ensure(request.param)


def test_image_files(image):
    assert is_bzimage(image.kernel)
    assert image.initrd.stat().st_size > 500_000           # busybox is most of it
    assert images.find(image.name) == image
    out = subprocess.run([sys.executable, "-m", "emu.images", "path", image.name], check=True,
                         capture_output=True, text=True).stdout.split("\n")
    assert out[:2] == [str(image.kernel), str(image.initrd)]
    assert "busybox-static" in image.versions


def test_tiny_config_has_the_fragment():
    image = images.ensure("tiny")
    config = (image.directory / "config").read_text()
    assert tiny.unmet_options(tiny.fragment_text(), config) == []
    assert "linux-source-6.1" in image.versions


@pytest.mark.skipif(not shutil.which("qemu-system-i386"), reason="qemu-system-i386 not installed")
def test_boots_to_a_shell_on_qemu(image):
    q = QemuConsole(image)
    try:
        _, m = q.expect(rb"BOOT-OK: Linux (6\.1\.\S+) i686\r?\n")
        if image.name == "debian":
            release = image.kernel.name[len("vmlinuz-"):]
            assert m.group(1).decode() == release
        prompt = images.PROMPT_RE.encode()
        q.expect(prompt)
        q.send("echo $((6*7)); tty")
        text, _ = q.expect(prompt)
        assert re.search(r"\r?\n42\r?\n/dev/ttyS0\r?\n", text), text
        q.send("cd /proc && ls -d 1 self && kill -0 1 && echo job-control-$(set -o | grep -c 'monitor *on')")
        text, _ = q.expect(prompt)
        assert "job-control-1" in text, text
        assert "[pyemu /proc]# " in text
        q.send("reboot -f")
        assert q.wait_exit() == 0
    finally:
        q.close()
