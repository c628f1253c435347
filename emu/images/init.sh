#!/bin/busybox sh
# /init of pyemu's test initramfs (emu/images/initramfs.py packs it).
# The kernel runs it as PID 1 with stdin/stdout/stderr on /dev/console.
/bin/busybox --install -s /bin
export PATH=/bin HOME=/root TERM=vt100
mount -t proc proc /proc
mount -t sysfs sysfs /sys
# The kernel does not mount devtmpfs itself when it boots from an initramfs;
# a kernel that did leaves it mounted, hence the silenced error.
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp 2>/dev/null
hostname pyemu
echo "BOOT-OK: $(uname -srm)"
# /dev/console cannot be a controlling terminal; cttyhack finds the real
# console device (ttyS0 with console=ttyS0) and opens it, and setsid makes the
# shell a session leader there, so it gets job control and Ctrl-C.
cd /root
setsid cttyhack sh -l
# PID 1 must not exit (the kernel would panic): when the shell ends, reset the
# machine, which with -no-reboot ends the emulator.
echo "pyemu-init: the shell exited; rebooting"
reboot -f
