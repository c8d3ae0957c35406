#!/usr/bin/env bash
# Installs what the SLURM and report tests need: a single-node Slurm (munge, slurmctld, slurmd, slurmdbd,
# MariaDB for accounting) and Debian's headless Chromium. Root + apt only; the daemons are NOT started
# here: tests/slurm/start.sh starts them (idempotent) when tests/test_slurm.py runs.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
    echo "slurm-setup: not root, skipping apt install (tests/test_slurm.py and tests/test_report.py will skip loudly)" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# --no-install-recommends keeps the image small; policy-rc.d stops Debian from auto-starting daemons in a container.
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
apt-get install -y -qq --no-install-recommends \
    munge slurm-wlm slurmctld slurmd slurm-client slurmdbd mariadb-server mariadb-client \
    chromium fonts-dejavu-core procps
rm -f /usr/sbin/policy-rc.d
