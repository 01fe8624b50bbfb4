#!/usr/bin/env bash
# Installs what the explorer's browser test (tests/tests/explorer.rs) needs, if it is missing:
#   - Debian's `chromium` (headless Chromium at /usr/bin/chromium), Node.js with npm and a CJK
#     font (apt);
#   - playwright-core into tests/explorer/node_modules, exactly as tests/explorer/package-lock.json
#     pins it (npm ci; it downloads no browser of its own).
# Idempotent and quiet when everything is there. Sourced by scripts/test.sh.
set -euo pipefail

browser_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

browser_missing=()
[ -x /usr/bin/chromium ] || browser_missing+=(chromium)
command -v node >/dev/null 2>&1 || browser_missing+=(nodejs)
command -v npm >/dev/null 2>&1 || browser_missing+=(npm)
# A CJK font, so that the pages' Chinese labels render in headless Chromium's screenshots.
fc-list :lang=zh 2>/dev/null | grep -q . || browser_missing+=(fonts-wqy-zenhei)
if ((${#browser_missing[@]})); then
  echo "prereqs-browser: installing ${browser_missing[*]} (apt)" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${browser_missing[@]}" >/dev/null
fi
browser_lock="$browser_root/tests/explorer/package-lock.json"
browser_stamp="$browser_root/tests/explorer/node_modules/.package-lock.json"
if [ ! -f "$browser_stamp" ] || [ "$browser_lock" -nt "$browser_stamp" ]; then
  echo "prereqs-browser: installing playwright-core (npm ci)" >&2
  (cd "$browser_root/tests/explorer" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
