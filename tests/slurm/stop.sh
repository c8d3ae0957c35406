#!/usr/bin/env bash
# Stop the test cluster started by tests/slurm/start.sh (its daemons only, by their pid files).
# munged is left running: it may be the system's, and it holds no state. A decoy /etc/slurm/slurm.conf that
# a killed tests/test_slurm.py run left behind (tests/slurm_cluster.py marks it) is removed; a real one is
# never touched. Pass --purge to also delete $EGOFLOW_SLURM_DIR (database, spool, logs).
set -euo pipefail
STATE="${EGOFLOW_SLURM_DIR:-/var/tmp/egoflow-slurm}"
stop() {  # stop NAME PIDFILE
    [ -s "$2" ] || return 0
    local pid; pid="$(cat "$2")"
    if [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$1" ]; then
        echo "slurm-stop: stopping $1 ($pid)" >&2
        kill "$pid"
        for _ in $(seq 30); do [ -d "/proc/$pid" ] || break; sleep 1; done
        [ -d "/proc/$pid" ] && kill -9 "$pid"
    fi
    rm -f "$2"
}
stop slurmd "$STATE/run/slurmd.pid"
stop slurmctld "$STATE/run/slurmctld.pid"
stop slurmdbd "$STATE/run/slurmdbd.pid"
stop mariadbd "$STATE/mysqlrun/mariadb.pid"
if head -n 1 /etc/slurm/slurm.conf 2>/dev/null | grep -q '^# egoflow test decoy'; then
    echo "slurm-stop: removing the test decoy /etc/slurm/slurm.conf" >&2
    rm -f /etc/slurm/slurm.conf
    if [ -e /etc/slurm/.egoflow-decoy-made-dir ]; then
        rm -f /etc/slurm/.egoflow-decoy-made-dir && rmdir /etc/slurm 2>/dev/null || true
    fi
fi
if [ "${1:-}" = --purge ]; then rm -rf "$STATE"; fi
