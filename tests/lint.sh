#!/usr/bin/env bash
# Banned functions (unbounded or not thread-safe) in the project's C code.
# Exit status 1 with the offending lines if any is used.
set -u
cd "$(dirname "$0")/.."
banned='\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atoll|strtok|tmpnam|mktemp|asctime|ctime|localtime|gmtime|readdir_r)\s*\('
hits=$(grep -nE "$banned" fs/*.c sync/*.c wire/*.c server/*.c tests/tools/*.c 2>/dev/null | grep -v '// lint-ok')
if [ -n "$hits" ]; then
  echo "banned functions used:"
  echo "$hits"
  exit 1
fi
echo "lint: no banned functions"
