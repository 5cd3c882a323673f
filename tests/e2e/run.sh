#!/usr/bin/env bash
# Run every end-to-end test (or those named), each under a timeout, and
# print a summary. Exit status: number of failures (0 = all passed).
set -u
dir=$(cd "$(dirname "$0")" && pwd)
tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
  tests=("$dir"/test_*.sh)
fi
failed=()
for t in "${tests[@]}"; do
  [ -f "$t" ] || t=$dir/$t
  name=$(basename "$t" .sh)
  echo "=== $name"
  start=$SECONDS
  if timeout --kill-after=10 "${E2E_TIMEOUT:-600}" bash "$t"; then
    echo "=== $name: ok ($((SECONDS - start)) s)"
  else
    echo "=== $name: FAILED ($((SECONDS - start)) s)"
    failed+=("$name")
  fi
done
echo
echo "end-to-end: $((${#tests[@]} - ${#failed[@]})) passed, ${#failed[@]} failed ${failed[*]:-}"
[ ${#failed[@]} -eq 0 ]
