#!/bin/busybox sh
# /sbin/init of pyemu's bootable disk images (emu/images/disk.py puts it on the
# ext2 root filesystem, partition 1).  The kernel mounts the root read-only
# unless its command line says rw, and mounts devtmpfs on /dev itself
# (CONFIG_DEVTMPFS_MOUNT), so /dev/console is there before this runs.
/bin/busybox mount -t proc proc /proc
# a root= without rw: the guest writes to its disk all the same (fails quietly
# on a disk the host gave read-only)
/bin/busybox mount -o remount,rw / 2>/dev/null
# the image carries links for the common applets; the rest once the root is writable
[ -e /bin/wget ] || /bin/busybox --install -s /bin 2>/dev/null
export PATH=/bin HOME=/root TERM=vt100
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp 2>/dev/null
hostname pyemu
echo "BOOT-OK: $(uname -srm) from disk"
cd /root
setsid cttyhack sh -l
# PID 1 must not exit: when the shell ends, write back and reset (with -no-reboot
# the emulator exits)
sync
echo "pyemu-init: the shell exited; rebooting"
reboot -f
