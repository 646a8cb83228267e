#!/usr/bin/env bash
# HQ's reports on a hot standby at scale, as docs/operations.md measured them: a `huifang serve`
# with HUIFANG_READ_DATABASE_URL on the standby, the HQ readers' lists (`bench lists`) with the
# primary idle, then again while `bench api` writes; the standby's replay lag sampled on the primary
# every 0.2 s meanwhile; the server's count of reads served by the replica. Release build.
#
#   scripts/replica-reports.sh PRIMARY_DATA_DIR STANDBY_DATA_DIR [OUT_DIR]
#
# Both are running local clusters (socket in the data directory; ports 5432 and 5433 unless
# PRIMARY_PORT / STANDBY_PORT say otherwise); the standby was made with
# `pg_basebackup -h PRIMARY_DATA_DIR -D STANDBY_DATA_DIR -R -X stream` and started with
# hot_standby_feedback = on. bench api writes (problems, record steps, answers) on the primary.
set -euo pipefail

primary_dir=${1:?usage: replica-reports.sh PRIMARY_DATA_DIR STANDBY_DATA_DIR [OUT_DIR]}
standby_dir=${2:?usage: replica-reports.sh PRIMARY_DATA_DIR STANDBY_DATA_DIR [OUT_DIR]}
out=${3:-$(mktemp -d)}
primary_port=${PRIMARY_PORT:-5432}
standby_port=${STANDBY_PORT:-5433}
http_port=${HTTP_PORT:-8091}
huifang=${HUIFANG:-.build/release/huifang}
primary="postgresql:///huifang?host=$primary_dir&port=$primary_port&user=postgres"
standby="postgresql:///huifang?host=$standby_dir&port=$standby_port&user=postgres"
mkdir -p "$out"

DATABASE_URL=$primary HUIFANG_READ_DATABASE_URL=$standby "$huifang" serve --port "$http_port" --no-migrate \
    --timer-workers 0 --delivery-workers 0 > "$out/serve.log" 2>&1 &
server=$!
sampler=
trap 'kill $server ${sampler:+$sampler} 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$http_port/health" > "$out/health-before.json" && break; sleep 1; done

# Replay lag as the primary sees it, in ms, with the WAL bytes not yet replayed.
( while true; do
    psql -h "$primary_dir" -p "$primary_port" -U postgres -Atc \
      "select coalesce(extract(epoch from max(replay_lag)) * 1000, 0), pg_wal_lsn_diff(pg_current_wal_lsn(), max(replay_lsn)) from pg_stat_replication" \
      2>/dev/null | sed "s/^/$(date +%s.%N)|/"
    sleep 0.2
  done ) > "$out/lag.log" &
sampler=$!

DATABASE_URL=$primary "$huifang" bench lists --url "http://127.0.0.1:$http_port" --runs 10 \
    --role brokerage_ops_center --role auditor > "$out/idle.log" 2>&1 || true
date +%s.%N > "$out/writes.start"
DATABASE_URL=$primary "$huifang" bench api --url "http://127.0.0.1:$http_port" --server-pid "$server" \
    --seconds 10 --connections 8 > "$out/api.log" 2>&1 &
writer=$!
sleep 20
DATABASE_URL=$primary "$huifang" bench lists --url "http://127.0.0.1:$http_port" --runs 10 \
    --role brokerage_ops_center > "$out/under-writes.log" 2>&1 || true
wait $writer || true
date +%s.%N > "$out/writes.end"
curl -s "http://127.0.0.1:$http_port/metrics" | grep '^huifang_read_replica' > "$out/metrics.txt"

python3 - "$out" <<'PY'
import sys
out = sys.argv[1]
start, end = (float(open(f"{out}/writes.{x}").read()) for x in ("start", "end"))
lags = sorted(float(p[1] or 0) for p in (l.strip().split("|") for l in open(f"{out}/lag.log")) if len(p) >= 3 and start <= float(p[0]) <= end)
q = lambda x: lags[min(len(lags) - 1, int(x * len(lags)))] if lags else float("nan")
print(f"replay lag while writing: {len(lags)} samples, p50 {q(.5):.1f} ms, p95 {q(.95):.1f} ms, max {lags[-1] if lags else float('nan'):.1f} ms")
PY
echo "reports on the replica: $out/idle.log (primary idle), $out/under-writes.log (while bench api writes)"
grep 'reads_total' "$out/metrics.txt"
