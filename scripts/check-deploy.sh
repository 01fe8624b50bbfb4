#!/usr/bin/env bash
# Checks the deployment files without a Docker engine or a booted systemd:
#   - `docker-compose config` accepts deploy/docker-compose.yml;
#   - `systemd-analyze verify` accepts deploy/caseledger-node.service.
# Installs Debian's docker-compose and systemd packages (apt, quiet) if they are missing.
# Exits 0 when both pass, 1 when a check fails, 2 when the tools could not be installed.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
if ((${#missing[@]})); then
  echo "check-deploy: installing ${missing[*]} (apt)" >&2
  # docker-compose recommends docker.io (the engine); the check needs only the CLI.
  if ! { as_root apt-get update -qq &&
         as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
           "${missing[@]}" >/dev/null; }; then
    echo "check-deploy: FAILED: could not install ${missing[*]} with apt" >&2
    exit 2
  fi
fi

failed=0
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# 1. The compose file. `config -q` validates it (schema, interpolation, anchors) and prints
#    nothing when it is valid.
if out="$(docker-compose -f deploy/docker-compose.yml config -q 2>&1)"; then
  echo "check-deploy: ok: deploy/docker-compose.yml ($(docker-compose version --short 2>/dev/null || echo '?'))"
else
  echo "check-deploy: FAILED: docker-compose config rejects deploy/docker-compose.yml:" >&2
  echo "$out" >&2
  failed=1
fi
for service in psb procuratorate court detention-house community-corrections; do
  if [ ! -f "deploy/compose/$service.toml" ]; then
    echo "check-deploy: FAILED: deploy/compose/$service.toml (the config of service $service) is missing" >&2
    failed=1
  fi
done

# 2. The systemd unit. verify requires ExecStart's binary to exist: the unit is checked as
#    written, with only the binary's path replaced by the built node if there is one, else by
#    a stub. The copy keeps the unit's name (verify checks names and dependencies too).
unit=deploy/caseledger-node.service
exec_path=/usr/local/bin/caseledger-node
target="${CARGO_TARGET_DIR:-/var/tmp/caseledger-target}"
bin=""
for candidate in "$target/release/caseledger-node" "$target/debug/caseledger-node"; do
  if [ -x "$candidate" ]; then bin="$candidate"; break; fi
done
if [ -z "$bin" ]; then
  bin="$tmp/caseledger-node"
  printf '#!/bin/sh\nexit 0\n' >"$bin"
  chmod +x "$bin"
fi
if ! grep -q "^ExecStart=$exec_path " "$unit"; then
  echo "check-deploy: FAILED: $unit: ExecStart does not start $exec_path" >&2
  failed=1
fi
sed "s#^ExecStart=$exec_path #ExecStart=$bin #" "$unit" >"$tmp/caseledger-node.service"
# verify exits non-zero on errors; it only prints warnings, so any line naming the unit fails
# the check too (unknown settings, bad values, ignored lines).
if out="$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "$tmp/caseledger-node.service" 2>&1)" &&
   ! grep -q 'caseledger-node' <<<"$out"; then
  echo "check-deploy: ok: $unit (systemd $(systemd-analyze --version | awk 'NR==1 {print $2}'), ExecStart checked against $bin)"
else
  echo "check-deploy: FAILED: systemd-analyze verify rejects $unit:" >&2
  echo "$out" >&2
  failed=1
fi

if ((failed)); then
  echo "check-deploy: FAILED" >&2
  exit 1
fi
echo "check-deploy: all deployment checks passed"
