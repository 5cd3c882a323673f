#!/usr/bin/env bash
# Run every end-to-end test (or those named), each under a timeout, and
# print a summary. A test that exits 77 could not run here: it is counted
# as skipped, neither passed nor failed. Exit status 0 if none failed.
#
# Under the sanitizers (E2E_SANITIZER set by tests/run-sanitizers.sh), a
# test whose header has the line "# e2e: no-sanitizer: REASON" is skipped
# with its reason: it runs no sanitized nbfs code (packaging, completion,
# unit files) and would only cost time. Under ThreadSanitizer, so is one
# with "# e2e: no-tsan: REASON": it exercises one thread's paths
# (command-line checks, error messages, ssh configuration), which ASan
# already covers, and the test command's time is better spent on the
# tests that race threads.
set -u
dir=$(cd "$(dirname "$0")" && pwd)
tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
  tests=("$dir"/test_*.sh)
fi
failed=()
skipped=()
# A failed test's last words, repeated after the summary's header: CI
# shows the end of the output, and 40 tests' logs push them out of it.
out=$(mktemp)
recap=$(mktemp)
trap 'rm -f "$out" "$recap"' EXIT
for t in "${tests[@]}"; do
  [ -f "$t" ] || t=$dir/$t
  name=$(basename "$t" .sh)
  echo "=== $name"
  start=$SECONDS
  why=$(sed -n 's/^# e2e: no-sanitizer: //p' "$t" | head -1)
  [ -z "$why" ] && [ "${E2E_SANITIZER:-}" = TSan ] && why=$(sed -n 's/^# e2e: no-tsan: //p' "$t" | head -1)
  if [ -n "${E2E_SANITIZER:-}" ] && [ -n "$why" ]; then
    echo "=== $name: SKIPPED under $E2E_SANITIZER: $why"
    skipped+=("$name")
    continue
  fi
  # To a file, not a pipe: a daemon a test leaves behind would hold a
  # pipe open, and the run would wait for it.
  timeout --kill-after=10 "${E2E_TIMEOUT:-600}" bash "$t" >"$out" 2>&1
  rc=$?
  cat "$out"
  if [ $rc -eq 0 ]; then
    echo "=== $name: ok ($((SECONDS - start)) s)"
  elif [ $rc -eq 77 ]; then
    echo "=== $name: SKIPPED ($((SECONDS - start)) s)"
    skipped+=("$name")
  else
    echo "=== $name: FAILED ($((SECONDS - start)) s)"
    failed+=("$name")
    {
      echo "--- $name: 8 lines before its first FAIL line and 40 from it (long lines cut)"
      awk 'function cut(l) { return length(l) > 300 ? substr(l, 1, 140) " [...] " substr(l, length(l) - 139) : l }
           /FAIL:/ && !seen { seen = 1; for (i = 0; i < n; i++) print cut(ring[(c + i) % n]) }
           seen && shown < 40 { print cut($0); shown++ }
           !seen { ring[c] = $0; c = (c + 1) % 8; if (n < 8) n++ }' "$out"
    } >>"$recap"
  fi
done
echo
[ -s "$recap" ] && cat "$recap" && echo
[ ${#skipped[@]} -eq 0 ] || echo "skipped (could not run here): ${skipped[*]}"
echo "end-to-end: $((${#tests[@]} - ${#failed[@]} - ${#skipped[@]})) passed, ${#failed[@]} failed, ${#skipped[@]} skipped ${failed[*]:-}"
[ ${#failed[@]} -eq 0 ]
