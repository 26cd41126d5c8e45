#!/usr/bin/env bash
# Stops the cluster tests/slurm/start.sh DIR started: cancels its jobs, then kills exactly the
# process ids recorded in DIR/pids (TERM, then KILL after 5 s). Safe to run twice.
set -uo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
DIR=$(cd "$1" 2>/dev/null && pwd) || exit 0
[ -f "$DIR/pids" ] || exit 0

# Jobs still running belong to this cluster only (its own controller).
if [ -f "$DIR/slurm.conf" ] && command -v scancel >/dev/null 2>&1; then
    SLURM_CONF="$DIR/slurm.conf" timeout 5 scancel --full --user="$(id -un)" 2>/dev/null || true
    for _ in $(seq 20); do
        n=$(SLURM_CONF="$DIR/slurm.conf" timeout 5 squeue -h 2>/dev/null | wc -l) || break
        [ "$n" = 0 ] && break
        sleep 0.25
    done
fi

# Reverse order: slurmd, slurmctld, then munged.
pids=$(tac "$DIR/pids")
for pid in $pids; do
    kill -TERM "$pid" 2>/dev/null || true
done
for _ in $(seq 50); do
    alive=0
    for pid in $pids; do
        kill -0 "$pid" 2>/dev/null && alive=1
    done
    [ $alive = 0 ] && break
    sleep 0.1
done
for pid in $pids; do
    kill -KILL "$pid" 2>/dev/null || true
done
: >"$DIR/pids"
exit 0
