#!/usr/bin/env bash
# Production dependencies must have no known high or critical vulnerability. Two checks:
# 1. `npm audit --omit=dev --audit-level=high` — a finding fails the run. When the registry's audit
#    endpoint cannot be reached (some mirrors and sandboxes refuse it), that is reported, not hidden,
#    and the run relies on check 2.
# 2. Version floors for the packages whose advisories matter most here (always enforced, offline).
set -uo pipefail
cd "$(dirname "$0")/.."

node scripts/check-dependency-floors.mjs || exit 1

out=$(npm audit --omit=dev --audit-level=high --json 2>/dev/null)
code=$?
if [ "$code" -eq 0 ]; then
  echo "npm audit: no high or critical vulnerabilities in production dependencies"
  exit 0
fi
if grep -q '"vulnerabilities"' <<<"$out"; then
  npm audit --omit=dev --audit-level=high
  exit 1
fi
echo "npm audit: the registry's audit endpoint did not answer here; relying on the version floors above"
exit 0
