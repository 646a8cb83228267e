# Sourced by the scripts that test against `huifang demo`: builds huifang, starts the demo on a
# throwaway embedded cluster in $work (port $port), stops it and removes $work when the script
# exits, and returns once /health answers. The demo's output, with its logins, is $work/demo.log.
work=$(mktemp -d)
chmod 755 "$work"   # under root the embedded PostgreSQL runs as postgres, who must reach it

swift build --product huifang 2>&1 | tail -1
binary="$(swift build --show-bin-path)/huifang"

"$binary" demo --data-dir "$work/pgdata" --port "$port" > "$work/demo.log" 2>&1 &
server=$!
cleanup() {
    kill -INT "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

for _ in $(seq 1 600); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    kill -0 "$server" 2>/dev/null || { cat "$work/demo.log"; echo "huifang demo exited" >&2; exit 1; }
    sleep 1
done
