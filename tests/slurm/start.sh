#!/usr/bin/env bash
# Start a single-node SLURM test cluster on this machine: munge, MariaDB, slurmdbd, slurmctld, slurmd.
#
# Idempotent: daemons already running are left alone, so the test harness may call it every time.
# Needs root and the Debian packages that .ci/slurm-setup.sh installs. Everything (configs, spool, logs,
# database, client wrappers) lives under $EGOFLOW_SLURM_DIR (default /var/tmp/egoflow-slurm); nothing in
# /etc/slurm or /run/slurm is read or written, so the machine's own Slurm (a login node's /etc/slurm/slurm.conf,
# a running slurmd) neither disturbs the test cluster nor is disturbed by it. Non-default ports keep it clear
# of a real Slurm or MariaDB on the same machine.
# Use the cluster from a shell with:  export PATH=$EGOFLOW_SLURM_DIR/bin:$PATH
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STATE="${EGOFLOW_SLURM_DIR:-/var/tmp/egoflow-slurm}"
NODE="$(hostname -s)"
CTLD_PORT=16817 SLURMD_PORT=16818 DBD_PORT=16819 DB_PORT=13306
export SLURM_CONF="$STATE/etc/slurm.conf"

say() { echo "slurm-start: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (SlurmUser=root, daemons bind ports, MariaDB runs as mysql)"
for bin in munged munge unmunge mariadbd mariadb-install-db mariadb slurmdbd slurmctld slurmd sacctmgr sinfo srun; do
    command -v "$bin" >/dev/null || die "$bin not found: run .ci/slurm-setup.sh (apt packages) first"
done

# running NAME PIDFILE: true if the pid in PIDFILE is alive and is NAME.
running() {
    [ -s "$2" ] || return 1
    local pid; pid="$(cat "$2")"
    [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$1" ]
}
# wait_for SECONDS WHAT CMD...: retry CMD once a second.
wait_for() {
    local seconds="$1" what="$2"; shift 2
    for _ in $(seq "$seconds"); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 1
    done
    die "$what did not come up within ${seconds}s (logs: $STATE/log/)"
}

mkdir -p "$STATE"/{bin,etc,run,log,spool/slurmctld,spool/slurmd,mysql,mysqlrun}
chmod 700 "$STATE/etc"
cd "$STATE"  # the daemons started below inherit this working directory, not the caller's

# --- client wrappers: every Slurm command run through $STATE/bin talks to this cluster -------------------
# SLURM_CONF alone is not enough: inside a job, snakemake's jobstep drops every SLURM_* variable before it
# starts `srun`, and srun without SLURM_CONF reads /etc/slurm/slurm.conf, the machine's own cluster. PATH
# survives (sbatch --export=ALL, the jobstep copies the rest of the environment), so a wrapper that sets
# SLURM_CONF and runs the real command keeps jobs on this cluster.
real_command() {  # real_command NAME: NAME on PATH, skipping these wrappers
    local dir dirs
    IFS=: read -ra dirs <<<"$PATH"
    for dir in "${dirs[@]}"; do
        [ "$dir" != "$STATE/bin" ] && [ -x "$dir/$1" ] && { echo "$dir/$1"; return 0; }
    done
    return 1
}
for client in sbatch srun salloc sattach scancel sacct sacctmgr squeue scontrol sinfo sstat sshare sprio sreport; do
    real="$(real_command "$client")" || continue
    printf '#!/bin/bash\n# Written by tests/slurm/start.sh: %s of the egoflow test cluster.\nexport SLURM_CONF=%q\nexec %q "$@"\n' \
        "$client" "$SLURM_CONF" "$real" >"$STATE/bin/$client.new"
    chmod 755 "$STATE/bin/$client.new"
    mv -f "$STATE/bin/$client.new" "$STATE/bin/$client"
done

# --- munge: reuse a working system munged, else start one with the packaged key ------------------------
if ! (munge -n | unmunge) >/dev/null 2>&1; then
    if [ ! -s /etc/munge/munge.key ]; then
        say "creating /etc/munge/munge.key"
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
    chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    say "starting munged"
    runuser -u munge -- munged
    wait_for 20 munged sh -c 'munge -n | unmunge'
fi

# --- MariaDB for slurmdbd ------------------------------------------------------------------------------
chown mysql:mysql "$STATE/mysql" "$STATE/mysqlrun"
SOCK="$STATE/mysqlrun/mysqld.sock"
if [ ! -d "$STATE/mysql/mysql" ]; then
    say "initialising MariaDB in $STATE/mysql"
    mariadb-install-db --user=mysql --datadir="$STATE/mysql" --skip-test-db \
        --auth-root-authentication-method=socket >"$STATE/log/mariadb-install.log" 2>&1 \
        || die "mariadb-install-db failed (see $STATE/log/mariadb-install.log)"
fi
if ! running mariadbd "$STATE/mysqlrun/mariadb.pid"; then
    say "starting MariaDB on 127.0.0.1:$DB_PORT"
    setsid mariadbd --user=mysql --datadir="$STATE/mysql" --socket="$SOCK" --port="$DB_PORT" \
        --bind-address=127.0.0.1 --pid-file="$STATE/mysqlrun/mariadb.pid" --skip-name-resolve \
        --innodb-buffer-pool-size=128M --innodb-lock-wait-timeout=900 \
        --log-error="$STATE/log/mariadb.log" </dev/null >/dev/null 2>&1 &
    wait_for 60 MariaDB mariadb-admin --socket="$SOCK" ping
fi
if [ ! -s "$STATE/etc/db.pass" ]; then
    (umask 077; head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$STATE/etc/db.pass")
fi
DB_PASS="$(cat "$STATE/etc/db.pass")"
mariadb --socket="$SOCK" <<SQL
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
ALTER USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL

# --- Slurm configuration (regenerated each time; same inputs give the same files) ----------------------
CPUS="$(nproc)"
# RealMemory above what slurmd detects drains the node: announce 80% of MemTotal.
MEM_MB="$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.8}' /proc/meminfo)"
render() {
    sed -e "s|@NODE@|$NODE|g" -e "s|@CPUS@|$CPUS|g" -e "s|@MEM_MB@|$MEM_MB|g" -e "s|@STATE@|$STATE|g" \
        -e "s|@CTLD_PORT@|$CTLD_PORT|g" -e "s|@SLURMD_PORT@|$SLURMD_PORT|g" -e "s|@DBD_PORT@|$DBD_PORT|g" \
        -e "s|@DB_PORT@|$DB_PORT|g" -e "s|@DB_PASS@|$DB_PASS|g" "$1"
}
before="$(cat "$STATE/etc/slurm.conf" 2>/dev/null || true)"
render "$HERE/slurm.conf.in" >"$STATE/etc/slurm.conf"
[ "$before" = "$(cat "$STATE/etc/slurm.conf")" ] && changed=0 || changed=1
(umask 077; render "$HERE/slurmdbd.conf.in" >"$STATE/etc/slurmdbd.conf")
cp "$HERE/cgroup.conf" "$STATE/etc/cgroup.conf"
chmod 644 "$STATE/etc/slurm.conf" "$STATE/etc/cgroup.conf"
chmod 755 "$STATE/etc"  # slurm.conf must be readable by job steps; slurmdbd.conf stays 600

# --- slurmdbd, then the cluster/account/user it must know, then slurmctld and slurmd -------------------
if ! running slurmdbd "$STATE/run/slurmdbd.pid"; then
    say "starting slurmdbd on 127.0.0.1:$DBD_PORT"
    slurmdbd
    wait_for 60 slurmdbd sacctmgr -n show cluster
fi
if [ -z "$(timeout 20 sacctmgr -n -P show cluster format=cluster where cluster=egoflow)" ]; then
    timeout 20 sacctmgr -i add cluster egoflow >/dev/null
fi
if [ -z "$(timeout 20 sacctmgr -n -P show account format=account where account=egoflow)" ]; then
    timeout 20 sacctmgr -i add account egoflow cluster=egoflow description=egoflow-tests organization=egoflow >/dev/null
fi
if ! timeout 20 sacctmgr -n -P show assoc format=account,user where users=root | grep -qx 'egoflow|root'; then
    timeout 20 sacctmgr -i add user root account=egoflow defaultaccount=egoflow >/dev/null
fi
if ! running slurmctld "$STATE/run/slurmctld.pid"; then
    say "starting slurmctld on 127.0.0.1:$CTLD_PORT"
    slurmctld
    wait_for 60 slurmctld scontrol ping
fi
if [ "$changed" = 1 ] && [ -n "$before" ]; then
    say "slurm.conf changed: reconfiguring the running daemons"
    scontrol reconfigure
fi
if ! running slurmd "$STATE/run/slurmd.pid"; then
    say "starting slurmd ($NODE, $CPUS CPUs, $MEM_MB MB)"
    slurmd -f "$SLURM_CONF"
fi
node_ready() { sinfo -h -n "$NODE" -o %T | grep -Eq '^(idle|mixed|allocated)$'; }
for _ in $(seq 60); do
    node_ready && break
    # A node left DOWN/DRAINED by an earlier run (e.g. killed daemons) is put back into service.
    if sinfo -h -n "$NODE" -o %T | grep -Eq 'down|drain'; then
        scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true
    fi
    sleep 1
done
node_ready || die "node $NODE is not idle: $(sinfo -h -n "$NODE" -o '%T %E') (logs: $STATE/log/)"
say "cluster up: node $NODE $(sinfo -h -n "$NODE" -o %T); export PATH=$STATE/bin:\$PATH"
