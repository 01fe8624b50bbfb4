#!/usr/bin/env python3
"""Validates an OpenAPI document with `openapi-spec-validator` (the JSON Schema of the OpenAPI
specification and its own checks: every path template's placeholders have path parameters,
references resolve, no duplicate parameters, ...).

Usage: python3 tests/python/validate_openapi.py FILE.json
Exit codes: 0 valid; 1 invalid (one line per error); 2 could not run (a missing file or
package; scripts/prereqs.sh installs it).
"""

from __future__ import annotations

import json
import sys

try:
    from openapi_spec_validator import OpenAPIV31SpecValidator
except ImportError as exc:  # pragma: no cover - depends on the machine
    print(
        f"cannot run: the Python package 'openapi-spec-validator' is missing ({exc}); "
        "scripts/prereqs.sh installs it",
        file=sys.stderr,
    )
    sys.exit(2)


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        with open(sys.argv[1], encoding="utf-8") as f:
            spec = json.load(f)
    except (OSError, ValueError) as exc:
        print(f"cannot run: {exc}", file=sys.stderr)
        return 2
    if not str(spec.get("openapi", "")).startswith("3.1."):
        print(f"not an OpenAPI 3.1 document: openapi = {spec.get('openapi')!r}")
        return 1
    errors = list(OpenAPIV31SpecValidator(spec).iter_errors())
    for e in errors:
        where = "/".join(str(p) for p in getattr(e, "path", [])) or "-"
        print(f"{where}: {str(e).splitlines()[0]}")
    print(f"{'valid' if not errors else 'invalid'}: {len(errors)} errors")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
