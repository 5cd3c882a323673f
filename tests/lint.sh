#!/usr/bin/env bash
# Static checks on the project's C code. Exit status 1 with the offending
# lines if any fails:
#   - banned functions (unbounded or not thread-safe);
#   - struct nb_buf is opaque: only wire/buf.c may define it, so no other
#     file can see (let alone touch) its fields;
#   - the man pages (docs/man/) pass mandoc's lint.
set -u
cd "$(dirname "$0")/.."
status=0

banned='\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atoll|strtok|tmpnam|mktemp|asctime|ctime|localtime|gmtime|readdir_r)\s*\('
hits=$(grep -nE "$banned" fs/*.c sync/*.c wire/*.c server/*.c tests/tools/*.c 2>/dev/null | grep -v '// lint-ok')
if [ -n "$hits" ]; then
  echo "banned functions used:"
  echo "$hits"
  status=1
else
  echo "lint: no banned functions"
fi

# A body for struct nb_buf anywhere else (the brace may be on the next
# line) would give that file the fields; so would a switch that reveals
# them. -z reads each file whole, so the pattern can span lines.
c_files=$(ls fs/*.[ch] sync/*.[ch] wire/*.[ch] server/*.[ch] tests/unit/*.[ch] \
  tests/fuzz/*.c tests/tools/*.c 2>/dev/null)
# shellcheck disable=SC2086
hits=$(grep -lzE 'struct[[:space:]]+nb_buf[[:space:]]*\{|NB_BUF_INTERNAL' $c_files |
  grep -vx 'wire/buf\.c')
if [ -n "$hits" ]; then
  echo "struct nb_buf defined or opened up outside wire/buf.c (use the accessors in wire/buf.h):"
  echo "$hits"
  status=1
else
  echo "lint: struct nb_buf stays opaque"
fi

# The man pages: mandoc's lint (warnings count), or groff's where there
# is no mandoc (contrib/install-deps.sh installs it).
if command -v mandoc >/dev/null; then
  man_out=$(mandoc -T lint -W warning docs/man/*.[0-9] 2>&1)
else
  man_out=$(groff -ww -z -mandoc docs/man/*.[0-9] 2>&1)
fi
if [ -n "$man_out" ]; then
  echo "the man pages have problems:"
  echo "$man_out"
  status=1
else
  echo "lint: man pages clean"
fi
exit $status
