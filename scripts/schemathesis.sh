#!/usr/bin/env bash
# Runs schemathesis (property-based API testing from the OpenAPI document) against a live
# caseledger cluster: `caseledger demo` starts five department nodes and loads a few cases,
# then schemathesis generates requests for every operation of /v1/openapi.json and checks
# that no response is a 5xx and every response conforms to the documented schema.
# Requests are signed with the pilot PLC's key (scripts/schemathesis/caseledger_auth.py).
#
#   scripts/schemathesis.sh [--examples N] [--cases N] [--keep DIR] [-- extra schemathesis args]
#
# Every operation is exercised: the admin routes are read-only (membership changes are ledger
# entries with k-of-n approvals, which generated requests cannot forge). `--with-admin` is
# still accepted and changes nothing. Exit status: schemathesis's (0 = no failure found).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prereqs.sh
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

SCHEMATHESIS_VERSION=3.39.16
# The newest hypothesis that schemathesis 3.39 works with (later ones dropped `many.more`).
HYPOTHESIS_VERSION=6.126.0
examples=100
cases=6
dir=""
admin=0
extra=()
while (($#)); do
  case "$1" in
    --examples) examples="$2"; shift 2 ;;
    --cases) cases="$2"; shift 2 ;;
    --keep) dir="$2"; shift 2 ;;
    --with-admin) admin=1; shift ;;
    --) shift; extra=("$@"); break ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

if ! python3 -c "
import sys, schemathesis, hypothesis
sys.exit(schemathesis.__version__ != '$SCHEMATHESIS_VERSION' or hypothesis.__version__ != '$HYPOTHESIS_VERSION')
" 2>/dev/null; then
  echo "schemathesis: installing schemathesis==$SCHEMATHESIS_VERSION hypothesis==$HYPOTHESIS_VERSION (pip)" >&2
  python3 -m pip install --quiet "schemathesis==$SCHEMATHESIS_VERSION" "hypothesis==$HYPOTHESIS_VERSION"
fi

cargo build --workspace --bins --quiet
bin="$CARGO_TARGET_DIR/debug"
tmp_dir=""
if [[ -z "$dir" ]]; then
  dir="$(mktemp -d -t caseledger-schemathesis.XXXXXX)"
  tmp_dir="$dir"
fi
mkdir -p "$dir"
cluster="$dir/cluster"
log="$dir/demo.log"

# The demo keeps its nodes running after the summary until Ctrl-C (SIGINT), on which it
# stops them.
demo=""
cleanup() {
  if [[ -n "$demo" ]] && kill -INT "$demo" 2>/dev/null; then wait "$demo" 2>/dev/null || true; fi
  if [[ -n "$tmp_dir" ]]; then rm -rf "$tmp_dir"; fi
}
trap cleanup EXIT
"$bin/caseledger" demo --seed 1 --cases "$cases" --days-per-second 20 --dir "$cluster" \
  --node-bin "$bin/caseledger-node" >"$log" 2>&1 &
demo=$!

deadline=$((SECONDS + 600))
until grep -qs "the nodes keep running" "$log"; do
  if ! kill -0 "$demo" 2>/dev/null; then
    echo "the demo exited before its cluster was ready:" >&2
    tail -n 30 "$log" >&2
    exit 2
  fi
  if ((SECONDS > deadline)); then
    echo "timed out waiting for the demo's cluster" >&2
    exit 2
  fi
  sleep 1
done
api="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api"])' "$cluster/node-1/addresses.json")"
base="http://$api"
echo "schemathesis: cluster ready, node 1 at $base"

export PYTHONPATH="$PWD/scripts/schemathesis${PYTHONPATH:+:$PYTHONPATH}"
export CASELEDGER_ORG=GS-PLC CASELEDGER_KEY_ID=k1 CASELEDGER_SEED=1
# The hook's key must be the one the registry holds for the PLC.
python3 - "$base" <<'PY'
import json, sys, urllib.request
import caseledger_auth as auth
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
path = f"/v1/organisations/{auth.ORG}"
req = urllib.request.Request(sys.argv[1] + path, headers=auth.signature_headers("GET", path, b"", auth.node_id(sys.argv[1])))
org = json.load(urllib.request.urlopen(req))
mine = auth.KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
keys = json.dumps(org)
if mine not in keys:
    sys.exit(f"the hook's key {mine} is not a key of {auth.ORG} in the registry: {keys}")
print(f"schemathesis: signing as {auth.ORG}/{auth.KEY_ID} ({mine[:16]}...)")
PY

exclude=()
# (no POST /admin/ operation exists any more; `admin` is kept for old command lines)
export SCHEMATHESIS_HOOKS=caseledger_auth
set +e
python3 -m schemathesis.cli run "$base/v1/openapi.json" \
  --base-url "$base" \
  --experimental=openapi-3.1 \
  --checks not_a_server_error,response_schema_conformance \
  --hypothesis-max-examples "$examples" \
  --hypothesis-seed 1 \
  --hypothesis-database none \
  --request-timeout 20000 \
  --workers 1 \
  "${exclude[@]}" "${extra[@]}"
status=$?
set -e
echo "schemathesis: exit $status"
exit $status
