#!/usr/bin/env bash
# Installs etcd (Debian's etcd-server and etcd-client) for `npm run bench:failover`,
# which measures etcd beside quorumd when the `etcd` binary is on the PATH.
# Does nothing when etcd is already there. Needs root (or sudo) and apt.
set -euo pipefail
if command -v etcd >/dev/null 2>&1; then
  echo "etcd is already installed: $(command -v etcd) ($(etcd --version 2>/dev/null | head -n 1))"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y etcd-server etcd-client
# Debian's package may start a system etcd on 2379/2380; the benchmark uses its own ports and data dirs.
echo "installed: $(command -v etcd) ($(etcd --version 2>/dev/null | head -n 1))"
