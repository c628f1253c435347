"""pyemu's BIOS image (emu/boot/bios.py): assembled from bios/ at first use,
64 KB, the reset vector at F000:FFF0 jumping into the image, cached by a hash
of the sources (a second call reuses the file)."""
import struct

from emu.boot import bios


def test_bios_image_is_built_once_and_has_a_reset_vector(tmp_path):
    path = bios.bios_image(cache_dir=tmp_path)
    data = path.read_bytes()
    assert len(data) == 64 * 1024
    assert data[:10] == b"pyemu BIOS"
    # FFF0: JMP FAR F000:post (EA, offset, segment)
    assert data[0xFFF0] == 0xEA
    offset, segment = struct.unpack("<HH", data[0xFFF1:0xFFF5])
    assert segment == 0xF000 and 0 < offset < 0xFFF0
    assert data[0xFFF5:0xFFFD] == b"12/04/26" and data[0xFFFE] == 0xFC
    mtime = path.stat().st_mtime_ns
    assert bios.bios_image(cache_dir=tmp_path) == path
    assert path.stat().st_mtime_ns == mtime                    # not built again
    assert path.name == "pyemu-bios-%s.bin" % bios.source_hash()
