"""An independent reader of newc cpio archives, written from the format's
description (cpio(5), Linux's early-userspace buffer-format.rst), to check the
writer in emu/images/cpio.py without trusting it."""
import stat

FIELDS = ("ino", "mode", "uid", "gid", "nlink", "mtime", "filesize", "devmajor", "devminor",
          "rdevmajor", "rdevminor", "namesize", "check")


def parse(data):
    """[{field: value, "name": str, "data": bytes, "offset": int}], the trailer included;
    asserts the structural rules on the way (magic, NUL, 4-byte padding with NULs)."""
    members, pos = [], 0
    while True:
        assert data[pos:pos + 6] == b"070701", "bad magic at offset %d" % pos
        m = {"offset": pos}
        for i, f in enumerate(FIELDS):
            text = data[pos + 6 + 8 * i: pos + 14 + 8 * i]
            assert len(text) == 8 and all(c in b"0123456789abcdefABCDEF" for c in text), text
            m[f] = int(text, 16)
        name_start = pos + 110
        raw_name = data[name_start:name_start + m["namesize"]]
        assert raw_name.endswith(b"\0") and b"\0" not in raw_name[:-1], raw_name
        m["name"] = raw_name[:-1].decode()
        data_start = name_start + m["namesize"]
        pad = (-data_start) % 4
        assert data[data_start:data_start + pad] == b"\0" * pad, "name padding is not NULs"
        data_start += pad
        assert data_start % 4 == 0
        m["data"] = data[data_start:data_start + m["filesize"]]
        assert len(m["data"]) == m["filesize"], "truncated member %s" % m["name"]
        end = data_start + m["filesize"]
        pad = (-end) % 4
        assert data[end:end + pad] == b"\0" * pad, "data padding is not NULs"
        pos = end + pad
        members.append(m)
        if m["name"] == "TRAILER!!!":
            return members, pos


def kind(mode):
    for test, name in ((stat.S_ISDIR, "dir"), (stat.S_ISREG, "file"), (stat.S_ISLNK, "symlink"),
                       (stat.S_ISCHR, "chardev"), (stat.S_ISBLK, "blockdev")):
        if test(mode):
            return name
    return "other"
