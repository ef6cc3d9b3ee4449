# slurm_cluster.sh: a throw-away one-node Slurm cluster on localhost for tests (sourced, bash):
# slurm_up DIR generates a munge key and a minimal slurm.conf for this machine's CPUs and memory
# (no cgroups: proctrack/linuxproc, task/none; state, spool and logs in DIR; free ports of its
# own) and starts munged, slurmctld and slurmd; slurm_down cancels its jobs, stops exactly
# those daemons by pid, and kills what its jobs left (found by their SLURM_CONF). DIR and the
# folders above it must be reachable by all (munged checks). Not a cluster for real work: no
# accounting (sacct), root only.
# shellcheck shell=bash

SLURM_PIDS=()

# The first port from $1 on that nothing on 127.0.0.1 answers.
slurm_free_port() {
    local p=$1
    while (exec 3<> "/dev/tcp/127.0.0.1/$p") 2> /dev/null; do p=$((p + 1)); done
    echo "$p"
}

slurm_up() {
    local dir=$1 host node cpus mem base ctl_port d_port i
    export PATH=$PATH:/usr/sbin:/sbin
    mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log"
    chmod 755 "$dir" "$dir/munge"   # munged wants its socket folder reachable by all
    if ! mungekey --create --keyfile="$dir/munge/munge.key" 2> /dev/null; then
        dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
    fi
    chmod 400 "$dir/munge/munge.key"
    munged -F --socket="$dir/munge/munge.sock" --key-file="$dir/munge/munge.key" --pid-file="$dir/munge/munged.pid" \
        --log-file="$dir/log/munged.log" --seed-file="$dir/munge/seed" > "$dir/log/munged.out" 2>&1 &
    SLURM_PIDS+=($!)
    for i in $(seq 50); do [ -S "$dir/munge/munge.sock" ] && break; sleep 0.1; done
    [ -S "$dir/munge/munge.sock" ] || { echo "slurm_up: munged did not start:"; cat "$dir/log/munged.out"; return 1; }

    host=$(hostname -s)
    node=$(slurmd -C | head -n 1)   # "NodeName=... CPUs=2 ... RealMemory=24105"
    cpus=$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<< "$node")
    mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<< "$node")
    mem=$((mem * 3 / 4))            # below what slurmd measures, or it drains the node
    base=$((20000 + $$ % 20000))
    ctl_port=$(slurm_free_port "$base")
    d_port=$(slurm_free_port $((ctl_port + 1)))
    cat > "$dir/slurm.conf" << EOF
ClusterName=dctest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctl_port
SlurmdPort=$d_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.sock
CredType=cred/munge
MailProg=/bin/true
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
ReturnToService=2
KillWait=5
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=dctest Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    export SLURM_CONF=$dir/slurm.conf
    slurmctld -D -i > "$dir/log/slurmctld.out" 2>&1 &
    SLURM_PIDS+=($!)
    slurmd -D > "$dir/log/slurmd.out" 2>&1 &
    SLURM_PIDS+=($!)
    for i in $(seq 100); do
        [ "$(sinfo -h -o %T 2> /dev/null)" = idle ] && { echo "slurm_up: node $host ($cpus CPUs, $mem MB) idle, ports $ctl_port/$d_port, $dir"; return 0; }
        sleep 0.2
    done
    echo "slurm_up: the node did not come up:"
    sinfo 2>&1 | sed 's/^/  /'
    tail -n 20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" 2> /dev/null
    return 1
}

# A process that runs (a zombie child waiting for `wait` does not).
slurm_alive() {
    local st
    [ -r "/proc/$1/stat" ] && read -r _ _ st _ < "/proc/$1/stat" 2> /dev/null && [ "$st" != Z ]
}

# Processes of this cluster's jobs that do not descend from this shell: the job steps
# (slurmstepd detaches from slurmd) and what they started, all with this cluster's SLURM_CONF.
slurm_job_pids() {
    local f p q pp
    for f in /proc/[0-9]*/environ; do
        p=${f#/proc/}
        p=${p%/environ}
        { tr '\0' '\n' < "$f"; } 2> /dev/null | grep -qxF "SLURM_CONF=$1" || continue
        q=$p
        while [ "$q" -gt 1 ] 2> /dev/null && [ "$q" != $$ ]; do
            { read -r _ _ _ pp _ < "/proc/$q/stat"; } 2> /dev/null || break
            q=$pp
        done
        [ "$q" = $$ ] || echo "$p"
    done
}

# Cancel every job of this cluster, wait (up to 60 s) for them to end, stop the daemons, then
# kill what of the jobs is left.
slurm_down() {
    local i k p conf=${SLURM_CONF:-}
    if [ -n "$conf" ] && [ ${#SLURM_PIDS[@]} -ge 3 ]; then
        scancel --quiet --full --user="$(id -un)" 2> /dev/null || true
        for i in $(seq 300); do [ -z "$(squeue -h 2> /dev/null)" ] && break; sleep 0.2; done
    fi
    for ((k = ${#SLURM_PIDS[@]} - 1; k >= 0; k--)); do   # slurmd, slurmctld, then munged
        p=${SLURM_PIDS[$k]}
        kill "$p" 2> /dev/null || true
        for i in $(seq 50); do slurm_alive "$p" || break; sleep 0.1; done
        kill -9 "$p" 2> /dev/null || true
        wait "$p" 2> /dev/null || true
    done
    SLURM_PIDS=()
    if [ -n "$conf" ]; then
        for p in $(slurm_job_pids "$conf"); do kill -9 "$p" 2> /dev/null || true; done
    fi
}
