#!/usr/bin/env bash
# Starts a private single-node Slurm cluster (munged, slurmctld, slurmd) from Debian's packages.
#
#   tests/slurm/start.sh DIR
#
# Everything lives under DIR: slurm.conf, the munge key and socket, state and spool directories,
# logs, and `pids` (one process id per line: the daemons this script started, nothing else;
# tests/slurm/stop.sh DIR kills exactly those). On success it prints `export SLURM_CONF=DIR/slurm.conf`
# and exits 0 once the node is idle; clients (sbatch, squeue, scontrol) then need SLURM_CONF.
#
# Environment: TRIA_SLURM_MAX_ARRAY (MaxArraySize, default 1001), TRIA_SLURM_CPUS (CPUs announced
# for the node, default 8: more than the machine has is fine for tests, see config_overrides).
#
# Container pitfalls handled here: munged refuses root, so it runs as the munge user; RealMemory is
# set or jobs asking for memory never start; proctrack/linuxproc and task/none, no cgroup plugins;
# the hostname is not `localhost`, so slurmd runs with -N localhost; kill_invalid_depend so that
# afterok dependents of a failed job are cancelled instead of pending forever; no accounting.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
for tool in munged slurmctld slurmd sbatch scontrol setpriv; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "SKIP: $tool is not installed (apt-get install slurm-wlm munge)" >&2
        exit 3
    fi
done
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: starting slurmd needs root" >&2
    exit 3
fi
if ! id munge >/dev/null 2>&1; then
    echo "SKIP: no munge user (apt-get install munge)" >&2
    exit 3
fi

mkdir -p "$1"
DIR=$(cd "$1" && pwd)
# munged runs as the munge user: it must be able to traverse DIR (mktemp makes it 0700).
chmod 0755 "$DIR"
mkdir -p "$DIR/munge" "$DIR/munge/run" "$DIR/state" "$DIR/spool" "$DIR/log"
: >"$DIR/pids"

# A fresh key, readable by munge only; munged checks the owners and modes of all of these.
head -c 1024 /dev/urandom >"$DIR/munge/munge.key"
chown -R munge:munge "$DIR/munge"
chmod 0600 "$DIR/munge/munge.key"
# The socket's directory must be traversable by everyone (clients run as any user).
chmod 0755 "$DIR/munge" "$DIR/munge/run"
# The packaged default places, in case a tool looks there.
mkdir -p /run/munge
chown munge:munge /run/munge
chmod 0755 /run/munge

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
        echo $((20000 + RANDOM % 20000))
}
CTLD_PORT=$(free_port)
SLURMD_PORT=$(free_port)
while [ "$SLURMD_PORT" = "$CTLD_PORT" ]; do SLURMD_PORT=$(free_port); done

MEM_MB=$(awk '/MemTotal/ { printf "%d", $2 / 1024 / 2 }' /proc/meminfo)
CPUS=${TRIA_SLURM_CPUS:-8}
MAX_ARRAY=${TRIA_SLURM_MAX_ARRAY:-1001}
SOCKET="$DIR/munge/run/munge.socket.2"

cat >"$DIR/slurm.conf" <<EOF
# Written by tests/slurm/start.sh: a private one-node cluster for tests.
ClusterName=tria-test
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/slurmd-%n
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DependencyParameters=kill_invalid_depend
SlurmdParameters=config_overrides
MaxArraySize=$MAX_ARRAY
ReturnToService=2
SchedulerParameters=sched_interval=1,bf_interval=1
MessageTimeout=10
InactiveLimit=0
KillWait=2
MinJobAge=300
NodeName=localhost NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$DIR/slurm.conf"

record() { echo "$1" >>"$DIR/pids"; }

fail() {
    echo "start.sh: $1" >&2
    for f in "$DIR"/log/*.log; do
        [ -f "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }
    done
    "$(dirname "$0")/stop.sh" "$DIR"
    exit 1
}

# munged in the foreground (setpriv execs, so $! is munged itself).
setpriv --reuid=munge --regid=munge --init-groups \
    munged -F --socket="$SOCKET" --key-file="$DIR/munge/munge.key" \
    --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/munge/munged.log" \
    --seed-file="$DIR/munge/munged.seed" \
    </dev/null >"$DIR/log/munged.out" 2>&1 &
record $!
for _ in $(seq 50); do
    [ -S "$SOCKET" ] && break
    sleep 0.1
done
[ -S "$SOCKET" ] || fail "munged did not create $SOCKET"

slurmctld -D -c -f "$SLURM_CONF" </dev/null >"$DIR/log/slurmctld.out" 2>&1 &
record $!
for _ in $(seq 100); do
    scontrol ping 2>/dev/null | grep -q UP && break
    sleep 0.2
done
scontrol ping 2>/dev/null | grep -q UP || fail "slurmctld did not answer"

slurmd -D -N localhost -f "$SLURM_CONF" </dev/null >"$DIR/log/slurmd.out" 2>&1 &
record $!
for _ in $(seq 150); do
    state=$(sinfo -h -N -o '%T' 2>/dev/null | head -n 1)
    case "$state" in idle | idle~ | mixed | allocated) break ;; esac
    sleep 0.2
done
case "$state" in
idle | idle~ | mixed | allocated) ;;
*) fail "node is `$state`, not idle" ;;
esac

echo "export SLURM_CONF=$SLURM_CONF"
