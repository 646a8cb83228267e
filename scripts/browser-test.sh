#!/usr/bin/env bash
# The console in a real browser: starts `huifang demo` on a throwaway embedded cluster (as
# scripts/schemathesis.sh does), then headless Chromium, driven by Selenium, walks a problem's whole
# loop through the pages alone — the responsible person logs a callback, fills and signs the record
# and raises its finding; the ops director countersigns and approves; the Brokerage Ops Center
# claims it and forwards it to IT; IT answers; the Ops Center accepts and relays to the branch
# leader, the responsible person and the client, which closes it; the auditor sees it in the SLA
# page. A screenshot of every page lands in .build-browser/screenshots/ (PNG).
#
#   scripts/browser-test.sh          # about 2 minutes after the build; needs chromium and chromium-driver
set -euo pipefail
cd "$(dirname "$0")/.."

port=${PORT:-18090}
venv=${BROWSER_VENV:-.build-browser/venv}
screenshots=${SCREENSHOTS:-.build-browser/screenshots}

command -v chromium >/dev/null && command -v chromedriver >/dev/null || {
    echo "chromium and chromium-driver are needed: sudo apt-get install -y chromium chromium-driver" >&2
    exit 1
}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import selenium' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q 'selenium==4.*'
fi

source scripts/throwaway-demo.sh

rm -rf "$screenshots"
mkdir -p "$screenshots"
BASE="http://127.0.0.1:$port" DEMO_LOG="$work/demo.log" SCREENSHOTS="$screenshots" "$venv/bin/python" scripts/browser_test.py
