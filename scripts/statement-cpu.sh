#!/usr/bin/env bash
# The database's CPU per transaction of each request's statements, as `huifang bench api --scripts DIR`
# captured them: each script runs N times under `pgbench -M prepared` on one connection, and the CPU
# the cluster's processes used meanwhile (/proc, utime + stime of the postmaster and its children) is
# divided by N. CPU time, not latency: it barely moves when other work shares the machine, so two
# builds' SQL can be compared on a busy one. Run it twice around a change and compare.
#
#   scripts/statement-cpu.sh DIR DATA_DIR [N]      # N: transactions per script (500)
#
# DATA_DIR is a running local cluster's data directory (huifang demo --data-dir …); the scripts end
# in ROLLBACK, so they change nothing and can run again.
set -euo pipefail

scripts=${1:?usage: statement-cpu.sh SCRIPTS_DIR DATA_DIR [TRANSACTIONS]}
data=${2:?usage: statement-cpu.sh SCRIPTS_DIR DATA_DIR [TRANSACTIONS]}
transactions=${3:-500}

[ -r "$data/postmaster.pid" ] || { echo "no running cluster in $data (postmaster.pid)" >&2; exit 1; }
mapfile -t pidfile < "$data/postmaster.pid"
postmaster=${pidfile[0]}
port=${pidfile[3]}
socket=${pidfile[4]}
pgbench=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench | tail -1)
ticks=$(getconf CLK_TCK)

cluster_cpu() {
    local total=0 pid fields
    for pid in "$postmaster" $(pgrep -P "$postmaster"); do
        read -r -a fields < "/proc/$pid/stat" 2>/dev/null || continue
        # utime, stime, cutime, cstime: the 14th to 17th fields
        total=$((total + fields[13] + fields[14] + fields[15] + fields[16]))
    done
    echo "$total"
}

printf '%-40s %14s %12s\n' "request" "CPU ms / tx" "latency ms"
for script in "$scripts"/*.pgbench; do
    name=$(basename "$script" .pgbench)
    variables=()
    if [ -r "$scripts/$name.variables" ]; then
        while IFS= read -r line || [ -n "$line" ]; do
            [ -n "$line" ] || continue
            name_value=${line#-D }
            variables+=(-D "$(eval "printf '%s' $name_value")")
        done < "$scripts/$name.variables"
    fi
    before=$(cluster_cpu)
    output=$("$pgbench" -n -M prepared -h "$socket" -p "$port" -U huifang_app -c 1 -j 1 -t "$transactions" \
        -f "$script" "${variables[@]}" huifang 2>&1) || { echo "$name: pgbench failed: $output" >&2; continue; }
    after=$(cluster_cpu)
    latency=$(sed -n 's/^latency average = \([0-9.]*\) ms$/\1/p' <<< "$output")
    cpu=$(awk -v t=$((after - before)) -v hz="$ticks" -v n="$transactions" 'BEGIN { printf "%.2f", t * 1000 / hz / n }')
    printf '%-40s %14s %12s\n' "$name" "$cpu" "$latency"
done
