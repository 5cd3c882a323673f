#!/usr/bin/env bash
# The bash completion (contrib/bash-completion/nbfs), loaded over the
# bash-completion package as an interactive shell would, completes the
# subcommands, their flags, -o options (in a comma-separated list too)
# and the file after identity=.
# e2e: no-sanitizer: it runs bash completion only, no nbfs code
. "$(dirname "$0")/lib.sh"
e2e_init completion
bc=/usr/share/bash-completion/bash_completion
[ -f "$bc" ] || fail "$bc missing: install bash-completion (contrib/install-deps.sh)"
# bash_completion is written for interactive shells: no nounset.
set +u
# shellcheck disable=SC1090
. "$bc"
# shellcheck disable=SC1091
. "$REPO/contrib/bash-completion/nbfs"
complete -p nbfs >/dev/null || fail "no completion registered for nbfs"
# compopt works only inside a completion readline started; here it is
# called directly.
compopt() { :; }

# complete_line LINE: what completing at the end of LINE offers, sorted,
# one per line. Words are split as readline does: at blanks, and '=' and
# ':' stand as words of their own.
complete_line() {
  local line=$1 w parts
  COMP_LINE=$line
  COMP_POINT=${#line}
  COMP_WORDS=()
  read -ra parts <<<"$line"
  for w in "${parts[@]}"; do
    while [[ $w =~ ^([^=:]*)([=:])(.*)$ ]]; do
      [ -n "${BASH_REMATCH[1]}" ] && COMP_WORDS+=("${BASH_REMATCH[1]}")
      COMP_WORDS+=("${BASH_REMATCH[2]}")
      w=${BASH_REMATCH[3]}
    done
    [ -n "$w" ] && COMP_WORDS+=("$w")
  done
  [[ $line == *" " ]] && COMP_WORDS+=("")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  _nbfs nbfs "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
  printf '%s\n' "${COMPREPLY[@]}" | sort
}

# expect LINE WANTED...: the completions of LINE are exactly WANTED.
expect() {
  local line=$1 got want
  shift
  got=$(complete_line "$line")
  want=$(printf '%s\n' "$@" | sort)
  [ "$got" = "$want" ] || fail "completing '$line': got [$(echo $got)], want [$(echo $want)]"
  log "'$line' -> $(echo $got)"
}

cd "$WORK" || fail "cd"
mkdir -p subdir
touch key_one key_two other
expect "nbfs st" "status"
expect "nbfs w" "wait"
expect "nbfs --v" "--version"
expect "nbfs status -" "-w" "--watch" "--json" "-f" "--follow" "-h" "--help"
expect "nbfs status --f" "--follow"
expect "nbfs status --follow --j" "--json"
expect "nbfs wait --t" "--timeout"
expect "nbfs -o comp" "compress"
expect "nbfs -o debug,ide" "debug,identity="
expect "nbfs -o c" "cache=" "cache_max=" "compress" "config="
expect "nbfs -o identity=key_" "key_one" "key_two"
expect "nbfs -o debug,identity=$WORK/key_t" "$WORK/key_two"
expect "nbfs -o delay=" ""
expect "nbfs status sub" "subdir"
expect "nbfs sub" "subdir/"
pass "bash completion of subcommands, flags, -o options and files"
