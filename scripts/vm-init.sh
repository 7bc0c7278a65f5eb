#!/bin/sh
# /init of the test VM's initramfs (busybox). Loads the IPVS and tunnel
# modules, mounts the host's root over 9p, runs the requested command chrooted
# into it and prints its exit status for scripts/vm to pick up.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "IPVS-VM-BOOTED"
for m in $(cat /etc/modules.list); do
  modprobe "$m" || echo "vm-init: could not load module $m"
done
fail() { echo "vm-init: $*"; echo "IPVS-VM-EXIT=125"; poweroff -f; }
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose hostroot /host || fail "cannot mount the host root over 9p"
mount -t proc proc /host/proc || fail "mount proc"
mount -t sysfs sys /host/sys || fail "mount sys"
mount -t devtmpfs dev /host/dev || fail "mount dev"
mkdir -p /host/dev/pts /host/dev/shm
mount -t devpts devpts /host/dev/pts 2>/dev/null
mount -t tmpfs tmpfs /host/dev/shm 2>/dev/null
# a fresh /run (network namespaces are mounted under /run/netns); /tmp stays the host's
mount -t tmpfs tmpfs /host/run || fail "mount /run"
run=""
for arg in $(cat /proc/cmdline); do
  case "$arg" in ipvs_run=*) run="${arg#ipvs_run=}" ;; esac
done
[ -n "$run" ] || fail "no ipvs_run= on the kernel command line"
chroot /host /bin/sh -c 'ip link set lo up 2>/dev/null; exit 0'
echo "IPVS-VM-START"
chroot /host /bin/sh "$run"
rc=$?
echo "IPVS-VM-EXIT=$rc"
poweroff -f
