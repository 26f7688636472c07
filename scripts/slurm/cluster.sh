#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, from Debian's packages, for trying and testing
# `artstyle slurm submit` (the host is both the controller and the only compute node).
#
#   scripts/slurm/cluster.sh start    install slurm-wlm + munge if missing, write the config, start
#                                     munged (if none runs), slurmctld and slurmd; wait until the
#                                     node is idle
#   scripts/slurm/cluster.sh stop     stop the daemons this script started, by the process ids it
#                                     recorded (never by name), and nothing else
#   scripts/slurm/cluster.sh status   the recorded daemons and `sinfo`
#   scripts/slurm/cluster.sh install  only install slurm-wlm + munge if missing (what npm test does)
#
# Needs root (the daemons, /etc/munge, /etc/slurm). State, spool, logs and the recorded pids live
# in a scratch folder, ARTSTYLE_SLURM_DIR (default /tmp/artstyle-slurm). The config goes to
# /etc/slurm/slurm.conf, so plain sbatch/squeue find it; a slurm.conf that this script did not
# write is never overwritten. Exit status: 0 done, 1 failed, 3 not root (nothing was changed).
set -euo pipefail

STATE=${ARTSTYLE_SLURM_DIR:-/tmp/artstyle-slurm}
CONF=/etc/slurm/slurm.conf
MARK='# written by artstyle-lab scripts/slurm/cluster.sh'
PIDS=$STATE/pids
say() { printf '[cluster] %s\n' "$*" >&2; }

need_root() {
  if [[ $(id -u) -ne 0 ]]; then
    say "needs root (it starts munged, slurmctld and slurmd and writes /etc/munge and /etc/slurm); running as $(id -un)"
    exit 3
  fi
}

install_packages() {
  local missing=() p
  for p in slurm-wlm munge; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]})); then
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
}

# A recorded pid is ours only while /proc says it still runs the program we started (a pid can be
# reused by an unrelated process after ours ended).
alive() { # name pid
  [[ -r /proc/$2/cmdline ]] && tr '\0' ' ' <"/proc/$2/cmdline" | grep -q -- "$1"
}

recorded() { # prints "name pid" lines of daemons still alive
  [[ -f $PIDS ]] || return 0
  local name pid
  while read -r name pid; do
    if alive "$name" "$pid"; then echo "$name $pid"; fi
  done <"$PIDS"
}

start_daemon() { # name logfile command...
  local name=$1 log=$2
  shift 2
  # setsid: its own session, so a Ctrl-C in the calling terminal or test does not reach it; in a
  # script the background child is no group leader, so setsid execs in place and $! is the daemon.
  setsid "$@" >>"$log" 2>&1 </dev/null &
  echo "$name $!" >>"$PIDS"
  say "started $name (pid $!)"
}

munge_works() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

start_munge() {
  if [[ ! -f /etc/munge/munge.key ]]; then
    say 'creating /etc/munge/munge.key'
    mungekey -c
  fi
  chown munge:munge /etc/munge/munge.key
  chmod 0400 /etc/munge/munge.key
  mkdir -p /run/munge
  chown munge:munge /run/munge
  chmod 0755 /run/munge
  if munge_works; then
    say 'munged already runs here; using it (it is not ours to stop)'
    return
  fi
  # As the munge user, in the foreground (-F) so that the recorded pid is munged itself.
  start_daemon munged "$STATE/munged.log" setpriv --reuid=munge --regid=munge --init-groups munged -F
  local i
  for i in $(seq 50); do munge_works && return; sleep 0.2; done
  say "munged did not come up; its log: $STATE/munged.log"
  return 1
}

write_conf() {
  local host cpus mem_mb
  host=$(hostname -s)
  cpus=$(nproc)
  # RealMemory: what the machine has, less 1 GiB (or a tenth, if smaller) for the system.
  mem_mb=$(awk '/^MemTotal:/ {m = int($2 / 1024); h = (m / 10 < 1024) ? int(m / 10) : 1024; print m - h}' /proc/meminfo)
  if [[ -f $CONF ]] && ! head -1 "$CONF" | grep -qF "$MARK"; then
    say "$CONF exists and was not written by this script; not overwriting it"
    return 1
  fi
  mkdir -p "$(dirname "$CONF")" "$STATE/state" "$STATE/spool"
  cat >"$CONF.tmp" <<EOF
$MARK (single-node test cluster)
ClusterName=artstyle
SlurmctldHost=$host
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SlurmUser=root
StateSaveLocation=$STATE/state
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SchedulerType=sched/backfill
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
# A cancelled or preempted job gets SIGTERM, then SIGKILL this many seconds later.
KillWait=10
MinJobAge=600
NodeName=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  mv "$CONF.tmp" "$CONF"
  say "wrote $CONF: node $host, $cpus CPUs, ${mem_mb} MB"
}

wait_idle() {
  local host i state
  host=$(hostname -s)
  for i in $(seq 60); do
    state=$(sinfo --noheader --nodes="$host" --format=%t 2>/dev/null || true)
    case $state in
      idle | mix | alloc) say "node $host is $state"; return 0 ;;
    esac
    sleep 0.5
  done
  say "the node did not become idle (state: ${state:-none}); logs in $STATE"
  return 1
}

start() {
  need_root
  install_packages
  mkdir -p "$STATE"
  if [[ -n $(recorded) ]]; then
    say "already running (started by this script):"
    recorded >&2
    wait_idle
    return
  fi
  rm -f "$PIDS"
  if scontrol ping 2>/dev/null | grep -q 'is UP'; then
    say 'a Slurm controller already answers on this machine and was not started by this script; not starting another'
    return 1
  fi
  start_munge
  write_conf
  # -D: in the foreground (their own pids are recorded); -c: a clean start, no earlier jobs.
  start_daemon slurmctld "$STATE/slurmctld.out" slurmctld -D -c -f "$CONF"
  local i
  for i in $(seq 60); do scontrol ping 2>/dev/null | grep -q 'is UP' && break; sleep 0.5; done
  start_daemon slurmd "$STATE/slurmd.out" slurmd -D -c -f "$CONF"
  if ! wait_idle; then
    tail -n 20 "$STATE"/slurmctld.log "$STATE"/slurmd.log >&2 || true
    stop
    return 1
  fi
}

stop() {
  need_root
  local name pid i left
  if [[ ! -f $PIDS ]]; then
    say 'nothing recorded; nothing to stop'
    return 0
  fi
  # slurmd first, then the controller, then munged: the reverse of their start.
  for name in slurmd slurmctld munged; do
    while read -r n pid; do
      [[ $n == "$name" ]] || continue
      if alive "$name" "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 50); do alive "$name" "$pid" || break; sleep 0.2; done
        if alive "$name" "$pid"; then
          say "$name (pid $pid) did not stop on SIGTERM; sending SIGKILL"
          kill -KILL "$pid" 2>/dev/null || true
        fi
        say "stopped $name (pid $pid)"
      fi
    done <"$PIDS"
  done
  left=$(recorded)
  if [[ -n $left ]]; then
    say "still running: $left"
    return 1
  fi
  rm -f "$PIDS"
}

status() {
  if [[ -n $(recorded) ]]; then
    say 'daemons started by this script:'
    recorded >&2
  else
    say 'no daemon started by this script runs'
  fi
  sinfo 2>&1 || true
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  install) need_root && install_packages ;;
  *)
    echo "usage: $0 start|stop|status|install" >&2
    exit 2
    ;;
esac
