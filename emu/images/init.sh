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
# root=/dev/XXX (pyemu -kernel K -initrd I -append "root=/dev/sda1" -hda disk.img):
# with an initramfs the kernel leaves the root to /init, so continue on that
# disk as a kernel without one would.  Without root= nothing below runs.
root=
for arg in $(cat /proc/cmdline); do
    case "$arg" in root=/dev/*) root=${arg#root=} ;; esac
done
if [ -n "$root" ]; then
    # ata_piix probes its disks asynchronously: the node may appear a moment
    # after /init starts (at most 10 s, as the debian-disk initramfs waits)
    for i in $(seq 1 100); do [ -b "$root" ] && break; sleep 0.1; done
    mkdir -p /newroot
    if mount -t ext2 -o rw "$root" /newroot; then
        if [ -x /newroot/sbin/init ]; then
            umount /tmp /sys /proc 2>/dev/null
            # the disk's init finds /dev populated, as after the kernel's own devtmpfs mount
            mount --move /dev /newroot/dev 2>/dev/null || umount /dev
            exec switch_root /newroot /sbin/init
        fi
        umount /newroot
    fi
    echo "pyemu-init: cannot boot from root=$root (no ext2 with /sbin/init); staying in the initramfs"
fi
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
