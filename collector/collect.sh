#!/usr/bin/env bash
# fleet-audit node collector, output schema "fleet-audit.collector/v2" (a fixed contract, validated by
# lambda/audit/node-report.ts): prints exactly one JSON object, at most 2,400 bytes (ListCommandInvocations
# returns 2,500 characters of output), describing this node's iptables scale, xtables-lock contention,
# kube-proxy sync health, aws-node (ipamd) set-up, container restarts and log signals. Exit status is always 0;
# what could not be read is null, with a short line in "errors".
#
# Safety, on purpose and for every line below:
#   - read-only: only *-save tools, /proc, log files and local HTTP GETs; writes nothing to disk (pipes and
#     variables only) and prints nothing but the JSON;
#   - never takes the xtables lock, not even briefly (no flock of any kind, no iptables rule command): the lock
#     state comes from /proc/locks; iptables-save does not lock;
#   - every external command runs under `timeout`, inside a total time budget;
#   - nothing read from outside (environment, files, HTTP) is ever evaluated as shell code, and nothing from a
#     container image is executed (kube-proxy's iptables backend is read from a symlink in its root);
#   - only the presence of environment values is kept, never a value itself.
# Runs on bash >= 4.2, coreutils >= 8.22, and mawk, gawk or busybox awk (portable POSIX awk only).
# curl is used where present, otherwise bash's /dev/tcp.
#
# Optional environment hooks (tests only; the SSM document sets none of them):
#   FLEET_AUDIT_ROOT              prefix for the log folders read (/var/log/pods, /var/log/aws-routed-eni)
#   XTABLES_LOCKFILE              the xtables lock file (iptables' own variable; default /run/xtables.lock)
#   FLEET_AUDIT_KUBE_PROXY_URL    kube-proxy metrics server (default http://127.0.0.1:10249)
#   FLEET_AUDIT_IPAMD_URL         ipamd metrics server (default http://127.0.0.1:61678)
#   FLEET_AUDIT_IMDS_URL          instance metadata service (default http://169.254.169.254)
#   FLEET_AUDIT_LOCK_SAMPLES      /proc/locks samples (default 20, 1..200)
#   FLEET_AUDIT_LOCK_WINDOW_MS    time the samples are spread over (default 2000, 0..10000)
#   FLEET_AUDIT_LOG_WINDOW_HOURS  log window (default 24, up to 720; decimals allowed)

# SSM may start the script with sh: re-run it with bash, and leave POSIX mode (process substitution).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set +o posix
export LC_ALL=C
PATH="${PATH:+$PATH:}/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

readonly MAX_BYTES=2400
readonly BUDGET_S=13                 # leaves margin under the 15 s the audit allows a run
readonly LOG_CAP_BYTES=$((8 * 1024 * 1024))
readonly LOG_CAP_TEXT='8 MiB'

ERRORS=()
err() { ERRORS+=("${1:0:160}"); }

# Characters for patterns, kept in variables: older bash mishandles $'...' inside ${var//pattern/...}.
readonly NL=$'\n' CR=$'\r' TAB=$'\t' CTRL_FIRST=$'\001' CTRL_LAST=$'\037' HIGH_FIRST=$'\177' HIGH_LAST=$'\377'

# --- small helpers --------------------------------------------------------------------------------------
# The script keeps processes few (its CPU cost is benchmarked against one iptables-save, and on a VM every
# process start costs about a millisecond): helpers set variables instead of printing into command
# substitutions, tools are found with bash's own PATH search, timings use bash's `time` keyword and clock,
# not date, and a command substitution or process substitution that only runs one program execs it
# (bash forks twice for "$(prog 2>/dev/null)" but once for "$(exec prog 2>/dev/null)").

# Sets TMO to the smaller of $1 seconds and what is left of the budget (SECONDS: no fork); returns 1 when
# less than a second is left.
bounded() {
  local left=$((BUDGET_S - SECONDS))
  ((left < 1)) && return 1
  TMO=$(($1 < left ? $1 : left))
  return 0
}

# Sets REPLY to a JSON string (null when empty): quotes, backslashes and control characters escaped; bytes
# outside ASCII become '?', so the output is valid UTF-8 whatever the input was.
jstr() {
  local s=$1
  if [ -z "$s" ]; then REPLY=null; return; fi
  # most strings are plain printable ASCII without quotes or backslashes: nothing to replace
  case $s in
    *[!\ -~]* | *[\"\\]*) ;;
    *)
      REPLY="\"$s\""
      return
      ;;
  esac
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$NL/\\n}
  s=${s//$CR/\\r}
  s=${s//$TAB/\\t}
  s=${s//[$CTRL_FIRST-$CTRL_LAST]/?}
  s=${s//[$HIGH_FIRST-$HIGH_LAST]/?}
  REPLY="\"$s\""
}

# Sets REPLY to $1 when it is a plain decimal number, else to null.
readonly NUMBER_RE='^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$'
jnum() {
  case $1 in
    '') REPLY=null ;;
    *[!0-9]*) if [[ $1 =~ $NUMBER_RE ]]; then REPLY=$1; else REPLY=null; fi ;;
    *) REPLY=$1 ;; # digits only (the common case): no regular expression to compile
  esac
}

# JSON assembly into OUT: open NAME / close a section, str/num/raw NAME VALUE a member.
OUT=''
open() { OUT+="\"$1\":{"; }
close() { OUT="${OUT%,}},"; }
str() { jstr "$2"; OUT+="\"$1\":$REPLY,"; }
num() { jnum "$2"; OUT+="\"$1\":$REPLY,"; }
raw() { OUT+="\"$1\":$2,"; }

# The /dev/tcp fallback when curl is missing: plain http, HTTP/1.0 (no chunked bodies). Exported so
# `timeout` can bound it: bash's /dev/tcp connect has no time-out of its own.
fa_http_devtcp() {
  local method=$1 url=$2 header=$3 re='^http://([^/:]+)(:([0-9]+))?(/.*)?$' line cr=$'\r'
  [[ $url =~ $re ]] || return 3
  local host=${BASH_REMATCH[1]} port=${BASH_REMATCH[3]:-80} path=${BASH_REMATCH[4]:-/}
  exec 3<>"/dev/tcp/$host/$port" || return 7
  printf '%s %s HTTP/1.0\r\nHost: %s\r\n' "$method" "$path" "$host" >&3
  [ -n "$header" ] && printf '%s\r\n' "$header" >&3
  printf '\r\n' >&3
  IFS= read -r line <&3 || return 52
  case $line in 'HTTP/'*' 200'*) ;; *) return 22 ;; esac
  while IFS= read -r line <&3; do
    line=${line%"$cr"}
    [ -z "$line" ] && break
  done
  cat <&3
}
export -f fa_http_devtcp

# http METHOD URL SECONDS [HEADER]: prints the body of a 2xx answer; the status is curl's exit code
# (7 no connection, 28 time-out, 22 HTTP error). curl -q: no .curlrc (it must come first). Callers run it in
# a subshell ($(http ...) or a pipeline), which the program then replaces (exec: one fork fewer); called from
# the main shell, it makes itself a subshell first.
http() {
  if [ "$BASHPID" = "$$" ]; then
    (http "$@")
    return
  fi
  bounded "$3" || return 28
  if [ -n "$HAVE_CURL" ]; then
    if [ -n "$4" ]; then
      exec timeout -k 1 "$TMO" "$HAVE_CURL" -q -fsS --proto =http,https --connect-timeout 1 --max-time "$TMO" \
        -X "$1" -H "$4" -- "$2" 2>/dev/null
    else
      exec timeout -k 1 "$TMO" "$HAVE_CURL" -q -fsS --proto =http,https --connect-timeout 1 --max-time "$TMO" \
        -X "$1" -- "$2" 2>/dev/null
    fi
  else
    exec timeout -k 1 "$TMO" bash -c 'fa_http_devtcp "$@"' fa-http "$1" "$2" "$4" 2>/dev/null
  fi
}

# http_pair METHOD1 URL1 SECONDS1 HEADER1 METHOD2 URL2 SECONDS2 HEADER2: the two requests that two http() calls
# would make, in one curl process (a curl start-up costs more CPU than anything else here but the saves).
# Sets PAIR_BODY1/PAIR_RC1 and PAIR_BODY2/PAIR_RC2 as "body=$(http ...); rc=$?" would: each transfer has its
# own time-out, the second is made whatever the first gave, and each writes its own exit code after its body
# (-w %{exitcode}). The first body ends at the first mark (it comes from the endpoint asked first), the
# second at the last one (curl writes it last). A curl too old for %{exitcode} (before 7.75) or for --next,
# or no curl, gets the two http() calls.
readonly PAIR_MARK="$NL#FA-HTTP "
http_pair() {
  local t1 t2 out rest rc a1 a2
  PAIR_BODY1=''
  PAIR_RC1=''
  PAIR_BODY2=''
  PAIR_RC2=''
  if [ -n "$HAVE_CURL" ] && bounded "$3" && t1=$TMO && bounded "$7"; then
    t2=$TMO
    a1=(-X "$1")
    [ -n "$4" ] && a1+=(-H "$4")
    a2=(-X "$5")
    [ -n "$8" ] && a2+=(-H "$8")
    out=$(exec timeout -k 1 $((t1 + t2)) "$HAVE_CURL" -q -sS \
      -f --proto =http,https --connect-timeout 1 --max-time "$t1" "${a1[@]}" -w '\n#FA-HTTP %{exitcode}\n' --url "$2" \
      --next -f --proto =http,https --connect-timeout 1 --max-time "$t2" "${a2[@]}" -w '\n#FA-HTTP %{exitcode}\n' \
      --url "$6" 2>/dev/null)
    rc=$?
    if [[ $out == *"$PAIR_MARK"* ]]; then
      PAIR_BODY1=${out%%"$PAIR_MARK"*}
      rest=${out#*"$PAIR_MARK"}
      PAIR_RC1=${rest%%"$NL"*}
      if [[ $rest == *"$NL"* ]]; then rest=${rest#*"$NL"}; else rest=''; fi
      if [[ $rest == *"$PAIR_MARK"* ]]; then
        PAIR_BODY2=${rest%"$PAIR_MARK"*}
        PAIR_RC2=${rest##*"$PAIR_MARK"}
      else
        PAIR_BODY2=$rest # cut short: the time-out's status
        PAIR_RC2=$rc
      fi
    elif ((rc != 2)); then
      PAIR_BODY1=$out # cut short before the first mark
      PAIR_RC1=$rc
      PAIR_RC2=$rc
    fi
    # $(...) drops a body's trailing newlines: so must this
    while [[ $PAIR_BODY1 == *"$NL" ]]; do PAIR_BODY1=${PAIR_BODY1%"$NL"}; done
    while [[ $PAIR_BODY2 == *"$NL" ]]; do PAIR_BODY2=${PAIR_BODY2%"$NL"}; done
    [[ $PAIR_RC1 =~ ^[0-9]+$ && $PAIR_RC2 =~ ^[0-9]+$ ]] && return 0
  fi
  PAIR_BODY1=$(http "$1" "$2" "$3" "$4")
  PAIR_RC1=$?
  PAIR_BODY2=$(http "$5" "$6" "$7" "$8")
  PAIR_RC2=$?
}

# find_tool NAME: sets REPLY to the executable file that PATH gives for NAME, or to '' (as "command -v", which
# can name a file that is not executable, then a check: such a tool counts as absent). bash's own PATH search
# (hash, BASH_CMDS): no command substitution, so no fork.
find_tool() {
  REPLY=''
  hash "$1" 2>/dev/null || return 0
  REPLY=${BASH_CMDS[$1]:-}
  [ -x "$REPLY" ] || REPLY=''
}

# Sets REPLY to a short reason for an http() status, for the errors list.
http_reason() {
  case $1 in
    7) REPLY='not reachable' ;;
    22) REPLY='HTTP error' ;;
    28 | 124) REPLY='timed out' ;;
    *) REPLY="failed (exit $1)" ;;
  esac
}

# Portable awk helper shared by the log counters: RFC 3339 / ISO 8601 time to epoch seconds, -1 when it
# does not parse. Accepts "T" or " ", fractions, and Z, +hh:mm, +hhmm or +hh offsets.
readonly AWK_EPOCH='
function epoch(ts,   y, mo, d, h, mi, s, rest, c, sign, oh, om, era, yoe, doy, doe, yy) {
  if (ts !~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][T ][0-9][0-9]:[0-9][0-9]:[0-9][0-9]/) return -1
  y = substr(ts, 1, 4) + 0; mo = substr(ts, 6, 2) + 0; d = substr(ts, 9, 2) + 0
  h = substr(ts, 12, 2) + 0; mi = substr(ts, 15, 2) + 0; s = substr(ts, 18, 2) + 0
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return -1
  rest = substr(ts, 20)
  if (substr(rest, 1, 1) == ".") {
    sub(/^\.[0-9]+/, "", rest)
  }
  c = substr(rest, 1, 1)
  if (c == "Z" || c == "z") { oh = 0; om = 0; sign = 1 }
  else if (c == "+" || c == "-") {
    sign = (c == "-") ? -1 : 1
    if (rest ~ /^[-+][0-9][0-9]:[0-9][0-9]/) { oh = substr(rest, 2, 2) + 0; om = substr(rest, 5, 2) + 0 }
    else if (rest ~ /^[-+][0-9][0-9][0-9][0-9]/) { oh = substr(rest, 2, 2) + 0; om = substr(rest, 4, 2) + 0 }
    else if (rest ~ /^[-+][0-9][0-9]/) { oh = substr(rest, 2, 2) + 0; om = 0 }
    else return -1
  } else return -1
  yy = (mo <= 2) ? y - 1 : y
  era = int(yy / 400); yoe = yy - era * 400
  doy = int((153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5) + d - 1
  doe = yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy
  return (era * 146097 + doe - 719468) * 86400 + h * 3600 + mi * 60 + s - sign * (oh * 3600 + om * 60)
}
'

# --- start ------------------------------------------------------------------------------------------------

START_STAMP=$(exec timeout 2 date -u '+%s%3N %Y-%m-%dT%H:%M:%S.%3NZ' 2>/dev/null)
START_MS=${START_STAMP%% *}
COLLECTED_AT=${START_STAMP#* }
case $START_MS in '' | *[!0-9]*)
  START_MS=$(($(timeout 2 date +%s) * 1000))
  COLLECTED_AT=$(timeout 2 date -u '+%Y-%m-%dT%H:%M:%SZ')
  ;;
esac
NOW_S=$((START_MS / 1000))
find_tool curl
HAVE_CURL=$REPLY

ROOT=${FLEET_AUDIT_ROOT:-}
ROOT=${ROOT%/}
if [ -n "$ROOT" ] && [ "${ROOT:0:1}" != / ]; then ROOT="$PWD/$ROOT"; fi

# --- lock sampling, in the background while the rest runs (it mostly sleeps) ---------------------------

LOCK_PATH=${XTABLES_LOCKFILE:-/run/xtables.lock}
LOCK_SAMPLES=${FLEET_AUDIT_LOCK_SAMPLES:-20}
LOCK_WINDOW_MS=${FLEET_AUDIT_LOCK_WINDOW_MS:-2000}
if ! [[ $LOCK_SAMPLES =~ ^[0-9]+$ ]] || ((10#$LOCK_SAMPLES < 1 || 10#$LOCK_SAMPLES > 200)); then
  err 'lock: FLEET_AUDIT_LOCK_SAMPLES ignored (want 1..200)'
  LOCK_SAMPLES=20
fi
if ! [[ $LOCK_WINDOW_MS =~ ^[0-9]+$ ]] || ((10#$LOCK_WINDOW_MS > 10000)); then
  err 'lock: FLEET_AUDIT_LOCK_WINDOW_MS ignored (want 0..10000)'
  LOCK_WINDOW_MS=2000
fi
LOCK_SAMPLES=$((10#$LOCK_SAMPLES))
LOCK_WINDOW_MS=$((10#$LOCK_WINDOW_MS))

# Prints "W seconds" (the measured window), "ok SAMPLES BUSY WAITED WAITERSMAX", then "H name" per distinct
# holder and "V name" per distinct waiter, then "E"; or "nofile"/"nostat". A sample is busy when /proc/locks
# lists a granted lock on the lock file's device:inode, and waited when it also lists blocked waiters ("->"
# lines, fs/locks.c locks_show) on it. iptables-legacy waits in a blocking flock(LOCK_EX) for `-w` and `-w N`
# since iptables 1.8.8 (xshared.c xtables_lock, commit 07e2107e), so each queued legacy writer is a "->"
# line; older iptables polled with LOCK_NB for `-w N` (only a bare `--wait`, as the VPC CNI's go-iptables
# passes, blocked), so there waiters are a lower bound.
lock_sampler() {
  local path=$1 n=$2 w=$3 st dev ino want busy=0 waited=0 waiters_max=0 pause sleep_fd='' name
  local seen_h=$NL seen_w=$NL
  local holders=() waiters=()
  if [ ! -e "$path" ]; then echo nofile; return; fi
  st=$(exec timeout 2 stat -L -c '%d %i' -- "$path" 2>/dev/null) || { echo nostat; return; }
  dev=${st% *}
  ino=${st#* }
  printf -v want '%02x:%02x:%s' $((((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfff))) \
    $(((dev & 0xff) | ((dev >> 12) & ~0xff))) "$ino"
  pause=0
  ((n > 1)) && pause=$((w / (n - 1)))
  printf -v pause '%d.%03d' $((pause / 1000)) $((pause % 1000))
  # Pauses are read time-outs on a pipe nobody writes to: no sleep process per sample.
  exec {sleep_fd}<> <(:) 2>/dev/null || sleep_fd=""
  TIMEFORMAT='W %3R'
  { time sample_locks; } 2>&1
  echo "ok $n $busy $waited $waiters_max"
  for name in "${holders[@]}"; do printf 'H %s\n' "$name"; done
  for name in "${waiters[@]}"; do printf 'V %s\n' "$name"; done
  echo E
}

# Sets REPLY to "parent/comm" of a process (comm from /proc/PID/comm, the parent's from its stat's ppid):
# iptables itself is only ever the holder, its parent says who called it (kube-proxy, aws-k8s-agent). Empty
# when the process is gone or not visible (pid 0: outside this PID namespace).
process_name() {
  local pid=$1 comm='' stat='' ppid parent=''
  REPLY=''
  [[ $pid =~ ^[0-9]+$ ]] && ((pid > 0)) || return 0
  IFS= read -r comm 2>/dev/null <"/proc/$pid/comm" || return 0
  IFS= read -r stat 2>/dev/null <"/proc/$pid/stat"
  # "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses, so split after the last ")"
  stat=${stat##*) }
  ppid=${stat#* }
  ppid=${ppid%% *}
  [[ $ppid =~ ^[0-9]+$ ]] && ((ppid > 0)) && IFS= read -r parent 2>/dev/null <"/proc/$ppid/comm"
  REPLY="${parent:-?}/$comm"
  REPLY=${REPLY//[$CTRL_FIRST-$CTRL_LAST]/?}
}

# The sampling loop of lock_sampler (its variables are lock_sampler's locals).
# /proc/locks is read whole (mapfile: buffered) and split into fields only when it names the lock file's
# device:inode at all: "read" line by line costs about 10 us a line, and a node holds tens of locks.
# (Field splitting with globbing off: the sampler is a subshell of its own, so "set -f" stays in it.)
sample_locks() {
  local i hit queued off named line locks=() fields=()
  set -f
  for ((i = 0; i < n; i++)); do
    if ((i > 0)); then
      if [ -n "$sleep_fd" ]; then read -r -t "$pause" -u "$sleep_fd" _; else timeout 2 sleep "$pause"; fi
    fi
    hit=0
    queued=0
    mapfile -t locks </proc/locks
    [[ "${locks[*]}" == *"$want"* ]] || locks=()
    for line in "${locks[@]}"; do
      # "N: CLASS MODE TYPE PID MAJ:MIN:INODE START END", or "N: -> CLASS ..." for a waiter (deeper waiters
      # are indented, the fields stay the same)
      fields=($line)
      off=0
      [ "${fields[1]:-}" = '->' ] && off=1
      [ "${fields[5 + off]:-}" = "$want" ] || continue
      if ((off)); then
        queued=$((queued + 1))
        named=${#waiters[@]}
      else
        hit=1
        named=${#holders[@]}
      fi
      ((named < 4)) || continue
      process_name "${fields[4 + off]:-}"
      [ -n "$REPLY" ] || continue
      if ((off)); then
        [[ $seen_w == *"$NL$REPLY$NL"* ]] || { seen_w+="$REPLY$NL"; waiters+=("$REPLY"); }
      else
        [[ $seen_h == *"$NL$REPLY$NL"* ]] || { seen_h+="$REPLY$NL"; holders+=("$REPLY"); }
      fi
    done
    ((busy += hit))
    ((hit && queued > 0)) && ((waited += 1))
    ((queued > waiters_max)) && waiters_max=$queued
  done
}
exec {LOCK_FD}< <(lock_sampler "$LOCK_PATH" "$LOCK_SAMPLES" "$LOCK_WINDOW_MS")

# --- node -------------------------------------------------------------------------------------------------

HOST_NAME=''
KERNEL=''
UPTIME=''
IFS= read -r HOST_NAME 2>/dev/null </proc/sys/kernel/hostname
IFS= read -r KERNEL 2>/dev/null </proc/sys/kernel/osrelease
read -r UPTIME _ 2>/dev/null </proc/uptime
OS=other
os_id=''
os_version=''
if [ -r /etc/os-release ]; then
  while IFS='=' read -r key value; do
    value=${value//\"/}
    value=${value//\'/}
    case $key in ID) os_id=$value ;; VERSION_ID) os_version=$value ;; esac
  done </etc/os-release
fi
case "$os_id:$os_version" in
  amzn:2) OS=amzn2 ;;
  amzn:2023) OS=amzn2023 ;;
  bottlerocket:*) OS=bottlerocket ;;
esac
[ -d /.bottlerocket ] && OS=bottlerocket
if [ "$OS" = bottlerocket ]; then
  err 'os: bottlerocket; host iptables, processes and logs are only visible from the admin container'
fi

INSTANCE_ID=''
IMDS_URL=${FLEET_AUDIT_IMDS_URL:-http://169.254.169.254}
IMDS_URL=${IMDS_URL%/}
KP_URL=${FLEET_AUDIT_KUBE_PROXY_URL:-http://127.0.0.1:10249}
KP_URL=${KP_URL%/}
# The IMDSv2 token and kube-proxy's /proxyMode (read in its own section below) in one curl process, then the
# instance id and kube-proxy's /configz in another (/configz only when something listens on kube-proxy's
# port: a refused or timed-out /proxyMode skips every later kube-proxy request).
http_pair PUT "$IMDS_URL/latest/api/token" 1 'X-aws-ec2-metadata-token-ttl-seconds: 60' \
  GET "$KP_URL/proxyMode" 2 ''
imds_token=$PAIR_BODY1
rc=$PAIR_RC1
KP_MODE_TEXT=$PAIR_BODY2
KP_MODE_RC=$PAIR_RC2
PAIR_BODY1=''
KP_UP=1
case $KP_MODE_RC in 7 | 28 | 124) KP_UP=0 ;; esac
CONFIGZ_BODY=''
CONFIGZ_RC=''
if [ $rc -eq 0 ] && [[ $imds_token =~ ^[A-Za-z0-9_=+/.-]+$ ]]; then
  if ((KP_UP)); then
    http_pair GET "$IMDS_URL/latest/meta-data/instance-id" 1 "X-aws-ec2-metadata-token: $imds_token" \
      GET "$KP_URL/configz" 2 ''
    INSTANCE_ID=$PAIR_BODY1
    rc=$PAIR_RC1
    CONFIGZ_BODY=$PAIR_BODY2
    CONFIGZ_RC=$PAIR_RC2
  else
    INSTANCE_ID=$(http GET "$IMDS_URL/latest/meta-data/instance-id" 1 "X-aws-ec2-metadata-token: $imds_token")
    rc=$?
  fi
  [[ $INSTANCE_ID =~ ^i-[0-9a-f]+$ ]] || INSTANCE_ID=''
  if [ -z "$INSTANCE_ID" ]; then
    http_reason "$rc"
    err "instanceId: IMDS instance-id $REPLY"
  fi
else
  http_reason "$rc"
  err "instanceId: IMDSv2 token $REPLY"
fi
unset imds_token
if ((KP_UP)) && [ -z "$CONFIGZ_RC" ]; then
  CONFIGZ_BODY=$(http GET "$KP_URL/configz" 2)
  CONFIGZ_RC=$?
fi

# --- iptables ---------------------------------------------------------------------------------------------

# kube-proxy's rules: -A rules in KUBE-SERVICES, KUBE-SVC-*, KUBE-SEP-*, KUBE-EXT-*,
# KUBE-NODEPORTS, KUBE-POSTROUTING and KUBE-MARK-MASQ. Kubelet's chains do not count. One awk pass reads
# both saves; the "#FA-..." lines between them cannot come from iptables-save.
# iptables-nft-save's stderr is merged into its stream: when /proc/net/ip_tables_names lists a table it
# prints "# Warning: iptables-legacy tables present, use iptables-legacy-save to see them" (iptables 1.8.x
# nft-shared.c nft_check_xt_legacy), which tells a mixed node from an nft one where the legacy tool is
# missing. stderr is unbuffered, so the warning can land inside a buffered stdout line: it is matched
# anywhere in a line, and a rule line it splits still counts once.
readonly AWK_IPTABLES='
function reset() { total = 0; kp = 0; svc = 0; sep = 0; ver = ""; warn = 0; split("", rules); split("", chains) }
function num(v) { return (v == "") ? 0 : v }
BEGIN { reset(); tab = "" }
/iptables-legacy tables present/ { warn = 1 }
/^-A / {
  rules[tab]++; total++
  if ($0 ~ /^-A KUBE-(SVC-|SEP-|EXT-|(SERVICES|NODEPORTS|POSTROUTING|MARK-MASQ)( |$))/) kp++
  next
}
/^:/ {
  if ($2 == "-") chains[tab]++
  if ($0 ~ /^:KUBE-SVC-/) svc++
  else if ($0 ~ /^:KUBE-SEP-/) sep++
  next
}
/^[*]/ { tab = substr($0, 2); next }
/^#/ {
  if ($1 == "#FA-TIME") savems = sprintf("%.0f", $2 * 1000)
  else if ($1 == "#FA-END") {
    b = $2; st[b] = $3; ms[b] = savems; seen[b] = 1; W[b] = warn
    if ($3 == 0) {
      T[b] = total; K[b] = kp; S[b] = svc; E[b] = sep; V[b] = ver
      N[b] = num(rules["nat"]); F[b] = num(rules["filter"]); M[b] = num(rules["mangle"]); R[b] = num(rules["raw"])
      CN[b] = num(chains["nat"]); CF[b] = num(chains["filter"])
    }
    reset()
  } else if ($2 == "Generated" && $4 ~ /save$/ && $5 ~ /^v[0-9]/) ver = $5
}
function show(b) {
  if (!seen[b]) return "null"
  if (st[b] != 0) {
    print "err iptables: " b " save " (st[b] == 124 ? "timed out" : "failed (exit " st[b] ")")
    return "null"
  }
  return T[b]
}
END {
  lr = show("legacy"); nr = show("nft")
  print "legacyRules " lr; print "nftRules " nr
  lk = (lr != "null" && K["legacy"] > 0); nk = (nr != "null" && K["nft"] > 0)
  print "legacyTablesWarning " (nr == "null" ? "null" : (W["nft"] ? "true" : "false"))
  # mixed: describe the backend with more kube-proxy rules (a tie describes legacy); without the legacy
  # tool, nft holding kube-proxy rules beside legacy tables is mixed too
  if (lk && nk) { backend = "mixed"; a = (K["nft"] > K["legacy"]) ? "nft" : "legacy" }
  else if (nk && lr == "null" && W["nft"]) { backend = "mixed"; a = "nft" }
  else if (lk) { backend = "legacy"; a = "legacy" }
  else if (nk) { backend = "nft"; a = "nft" }
  else { backend = "none"; a = "" }
  print "backend " backend
  if (a == "") exit
  print "total " T[a]; print "nat " N[a]; print "filter " F[a]; print "mangle " M[a]; print "raw " R[a]
  print "chainsNat " CN[a]; print "chainsFilter " CF[a]; print "svc " S[a]; print "sep " E[a]
  print "saveMs " ms[a]
  if (V[a] != "") print "version " V[a] (a == "nft" ? " (nf_tables)" : " (legacy)")
}
'

find_tool iptables-legacy-save
LEGACY_SAVE=$REPLY
find_tool iptables-nft-save
NFT_SAVE=$REPLY
if [ -z "$LEGACY_SAVE$NFT_SAVE" ]; then
  # Old or distribution builds ship only iptables-save: its multi-call binary tells the backend.
  find_tool iptables-save
  plain_save=$REPLY
  if [ -n "$plain_save" ]; then
    case $(exec timeout 2 readlink -f -- "$plain_save" 2>/dev/null) in
      *nft*) NFT_SAVE=$plain_save ;;
      *) LEGACY_SAVE=$plain_save ;;
    esac
  fi
fi

# Streams one backend's save into the counting pipe, then "#FA-TIME seconds" (its wall time, from bash's
# `time`) and "#FA-END backend status".
save_backend() {
  local name=$1 tool=$2 rc
  [ -n "$tool" ] || return 0
  if ! bounded 8; then
    echo "#FA-END $name 124"
    return 0
  fi
  TIMEFORMAT='#FA-TIME %3R'
  if [ "$name" = nft ]; then
    { time timeout -k 1 "$TMO" "$tool" 2>&1; } 2>&1
  else
    { time timeout -k 1 "$TMO" "$tool" 2>/dev/null; } 2>&1
  fi
  rc=$?
  echo "#FA-END $name $rc"
}

declare -A IPT=()
bounded 12 || TMO=1
while read -r key value; do
  if [ "$key" = err ]; then err "$value"; else IPT[$key]=$value; fi
done < <(
  {
    save_backend legacy "$LEGACY_SAVE"
    save_backend nft "$NFT_SAVE"
  } | timeout -k 1 "$TMO" awk "$AWK_IPTABLES"
)
[ -z "$LEGACY_SAVE$NFT_SAVE" ] && err 'iptables: no iptables-save tool found'
IPT_BACKEND=${IPT[backend]:-}
if [ -z "$IPT_BACKEND" ]; then
  err 'iptables: could not count the rules'
elif [ "$IPT_BACKEND" = none ] && [ -n "$LEGACY_SAVE$NFT_SAVE" ]; then
  err 'iptables: no backend holds kube-proxy rules'
fi
IPT_VERSION=${IPT[version]:-}
if [ -z "$IPT_VERSION" ] && command -v iptables >/dev/null 2>&1 && bounded 2; then
  IPT_VERSION=$(exec timeout -k 1 "$TMO" iptables --version 2>/dev/null)
  IPT_VERSION=${IPT_VERSION#iptables }
  IPT_VERSION=${IPT_VERSION:0:40}
fi

# --- processes: kube-proxy and ipamd (aws-k8s-agent) ------------------------------------------------------

KP_PID=''
IPAMD_PID=''
# (stderr is silenced once for the loop: processes may end while it reads)
for proc_dir in /proc/[0-9]*; do
  comm=''
  IFS= read -r comm <"$proc_dir/comm" || continue
  case $comm in
    kube-proxy) KP_PID=${proc_dir#/proc/} ;;
    aws-k8s-agent) IPAMD_PID=${proc_dir#/proc/} ;;
  esac
done 2>/dev/null

# Sets REPLY to true or false as Go's strconv.ParseBool reads a value, an unparsable one as false (ipamd's
# default for both settings below: pkg/ipamd/ipamd.go parseBoolEnvVar, utils/utils.go GetBoolAsStringEnvVar).
go_bool() {
  case $1 in 1 | t | T | TRUE | true | True) REPLY=true ;; *) REPLY=false ;; esac
}

# ipamd's environment: whether CLUSTER_ENDPOINT is set, and ENABLE_POD_ENI / AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG,
# with either of which VPC CNI v1.19.4+ still waits for the API server at start (cmd/aws-k8s-agent/main.go).
# Only the presence or truth of a value is kept, never the value; the first of duplicates wins, as in Go.
CLUSTER_ENDPOINT_SET=null
POD_ENI=null
CUSTOM_NETWORKING=null
if [ -n "$IPAMD_PID" ]; then
  environ_read=0
  ce='' pe='' cn=''
  while IFS= read -r -d '' kv; do
    environ_read=1
    case $kv in
      CLUSTER_ENDPOINT=*) [ -n "$ce" ] || { [ -n "${kv#*=}" ] && ce=true || ce=false; } ;;
      ENABLE_POD_ENI=*) [ -n "$pe" ] || { go_bool "${kv#*=}" && pe=$REPLY; } ;;
      AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=*) [ -n "$cn" ] || { go_bool "${kv#*=}" && cn=$REPLY; } ;;
    esac
  done 2>/dev/null <"/proc/$IPAMD_PID/environ"
  unset kv
  if ((environ_read)); then
    CLUSTER_ENDPOINT_SET=${ce:-false}
    POD_ENI=${pe:-false}
    CUSTOM_NETWORKING=${cn:-false}
  else
    err 'awsNode: ipamd environment not readable'
  fi
  unset ce pe cn
else
  err 'awsNode: ipamd process (aws-k8s-agent) not found'
fi

# root_link_backend ROOT PATH: follows PATH link by link inside ROOT (a process's /proc/PID/root) and sets
# REPLY to nft or legacy as soon as a link names a backend binary (iptables-nft, xtables-nft-multi, ...);
# returns 1 when it cannot read a link, 2 when the chain ends without naming one (REPLY: the last name).
# An absolute target starts again at ROOT: the kernel would resolve it against the collector's own root.
root_link_backend() {
  local root=$1 rest=${2#/} resolved='' comp target hops=0
  REPLY=''
  while [ -n "$rest" ]; do
    comp=${rest%%/*}
    if [[ $rest == */* ]]; then rest=${rest#*/}; else rest=''; fi
    case $comp in
      '' | .) continue ;;
      ..)
        resolved=${resolved%/*}
        continue
        ;;
    esac
    if [ -L "$root$resolved/$comp" ]; then
      ((hops++ < 8)) && bounded 1 || return 1
      target=$(exec timeout -k 1 "$TMO" readlink -- "$root$resolved/$comp" 2>/dev/null) || return 1
      case ${target##*/} in
        iptables-nft | xtables-nft-multi)
          REPLY=nft
          return 0
          ;;
        iptables-legacy | xtables-legacy-multi)
          REPLY=legacy
          return 0
          ;;
      esac
      case $target in /*) resolved='' ;; esac
      rest=${target#/}${rest:+/$rest}
    else
      resolved+=/$comp
    fi
  done
  REPLY=${resolved##*/}
  return 2
}

# kube-proxy's own backend: its image's iptables link as iptables-wrapper set it on first use, in /usr/sbin
# or else /sbin (kubernetes-sigs/iptables-wrappers: update-alternatives, alternatives, or symlinks to
# xtables-<mode>-multi). Read from the link only: nothing from the image is executed.
KP_IPT_BACKEND=''
KP_CONFIG_PATH=''
if [ -n "$KP_PID" ]; then
  kp_root=/proc/$KP_PID/root
  kp_ipt=/usr/sbin/iptables
  [ -L "$kp_root$kp_ipt" ] || [ -e "$kp_root$kp_ipt" ] || kp_ipt=/sbin/iptables
  if ! [ -L "$kp_root$kp_ipt" ] && ! [ -e "$kp_root$kp_ipt" ]; then
    err 'kube-proxy: no iptables in its image'
  elif root_link_backend "$kp_root" "$kp_ipt"; then
    KP_IPT_BACKEND=$REPLY
  elif [ $? -eq 1 ]; then
    err 'kube-proxy: its iptables link could not be read'
  elif [ "$REPLY" = iptables-wrapper ]; then
    err 'kube-proxy: iptables-wrapper has not chosen a backend yet'
  else
    err 'kube-proxy: its iptables is not a link to a backend'
  fi
  take_next=0
  while IFS= read -r -d '' arg; do
    if ((take_next)); then KP_CONFIG_PATH=$arg; take_next=0; continue; fi
    case $arg in
      --config=*) KP_CONFIG_PATH=${arg#--config=} ;;
      --config) take_next=1 ;;
    esac
  done 2>/dev/null <"/proc/$KP_PID/cmdline"
else
  err 'kube-proxy: process not found'
fi

# --- kube-proxy metrics -------------------------------------------------------------------------------------

# Sums label sets (ip_family, ...) of kubeproxy_sync_proxy_rules_duration_seconds, whose buckets are
# 0.001 x 2^k up to 16.384 s (pkg/proxy/metrics/metrics.go ExponentialBuckets(0.001, 2, 15)). The p99 is the
# bucket holding the ceil(0.99 * count)-th sync: its upper bound (null in +Inf) and its lower bound (the
# previous bound or 0; in +Inf the largest finite bound, so a p99 beyond 16.384 s is a lower bound, not
# unknown). The last sync is the oldest of the label sets' timestamps. A change is queued and unsynced in a
# label set whose last_queued timestamp ("if this is much larger than ...last_timestamp_seconds, then
# something is hung", metrics.go) is newer than its last sync; its age is counted from that queued time.
# An absent counter stays null.
readonly AWK_KP_METRICS='
function le_of(line) {
  if (!match(line, /[{,]le="[^"]*"/)) return ""
  return substr(line, RSTART + 5, RLENGTH - 6)
}
function family(line) {
  if (!match(line, /[{,]ip_family="[^"]*"/)) return "-"
  return substr(line, RSTART + 12, RLENGTH - 13)
}
/^#/ { next }
{
  # name{labels} value [timestamp]
  name = $1; br = index(name, "{")
  if (br) { name = substr(name, 1, br - 1); rest = substr($0, index($0, "}") + 1) }
  else rest = substr($0, length($1) + 1)
  split(rest, parts, " "); v = parts[1]
  if (name == "kubeproxy_sync_proxy_rules_duration_seconds_bucket") {
    le = le_of($0)
    if (le == "+Inf") inf += v
    else if (le != "") { if (!(le in bucket)) { nb++; les[nb] = le }; bucket[le] += v }
  } else if (name == "kubeproxy_sync_proxy_rules_duration_seconds_count") { cnt += v; hascnt = 1 }
  else if (name == "kubeproxy_sync_proxy_rules_duration_seconds_sum") { sum += v; hassum = 1 }
  else if (name == "kubeproxy_sync_proxy_rules_last_timestamp_seconds") {
    if (!haslast || v + 0 < last) last = v + 0
    haslast = 1; synced[family($0)] = v + 0
  }
  else if (name == "kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds") { queued[family($0)] = v + 0; hasq = 1 }
  else if (name == "kubeproxy_sync_proxy_rules_iptables_restore_failures_total") { rf += v; hasrf = 1 }
  else if (name == "kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total") { prf += v; hasprf = 1 }
}
END {
  print "syncCount " (hascnt ? sprintf("%.0f", cnt) : "null")
  print "syncSecondsSum " (hassum ? sprintf("%.10g", sum) : "null")
  p99 = "null"; low = "null"
  if (hascnt && cnt > 0) {
    for (i = 2; i <= nb; i++) {
      x = les[i]; j = i - 1
      while (j > 0 && les[j] + 0 > x + 0) { les[j + 1] = les[j]; j-- }
      les[j + 1] = x
    }
    rank = int((cnt * 99 + 99) / 100)
    for (i = 1; i <= nb; i++) if (bucket[les[i]] >= rank) {
      p99 = sprintf("%.10g", les[i] + 0); low = (i > 1) ? sprintf("%.10g", les[i - 1] + 0) : "0"; break
    }
    if (p99 == "null" && nb > 0) low = sprintf("%.10g", les[nb] + 0)
  }
  print "syncP99Seconds " p99
  print "syncP99LowerSeconds " low
  if (haslast && last > 0) { age = now - last; if (age < 0) age = 0; print "lastSyncAgeSeconds " sprintf("%.1f", age) }
  else print "lastSyncAgeSeconds null"
  if (hasq) {
    wait = 0
    for (f in queued) if (queued[f] > 0 && (!(f in synced) || queued[f] > synced[f])) {
      a = now - queued[f]; if (a < 0) a = 0; if (a > wait) wait = a
    }
    print "lastQueuedAgeSeconds " sprintf("%.1f", wait)
  } else print "lastQueuedAgeSeconds null"
  print "restoreFailures " (hasrf ? sprintf("%.0f", rf) : "null")
  print "partialRestoreFailures " (hasprf ? sprintf("%.0f", prf) : "null")
}
'

declare -A KP=()
KP_MODE=''
mode_text=$KP_MODE_TEXT # asked together with the IMDSv2 token, in the node section
rc=$KP_MODE_RC
if [ $rc -eq 0 ]; then
  mode_text=${mode_text//[[:space:]]/}
  case $mode_text in
    iptables | ipvs | nftables) KP_MODE=$mode_text ;;
    *) err 'kube-proxy: /proxyMode answered an unknown mode' ;;
  esac
else
  http_reason "$rc"
  err "kube-proxy: /proxyMode $REPLY"
fi
if ((KP_UP)); then
  # the age is against the collection start, whole seconds
  while read -r key value; do
    if [ "$key" = rc ]; then
      if [ "$value" != 0 ]; then
        http_reason "$value"
        err "kube-proxy: /metrics $REPLY"
      fi
    else
      KP[$key]=$value
    fi
  done < <(
    http GET "$KP_URL/metrics" 3 | timeout -k 1 3 awk -v now="$NOW_S" "$AWK_KP_METRICS"
    echo "rc ${PIPESTATUS[0]}"
  )
fi

# --- kube-proxy sync periods in effect ----------------------------------------------------------------------

# /configz serves kube-proxy's configuration after its defaulting, as Go's encoding/json writes the internal
# type (no json tags: Go field names; k8s.io/component-base/configz, pkg/proxy/apis/config/types.go): before
# Kubernetes 1.31 in the mode's section ("IPTables":{"SyncPeriod":"30s","MinSyncPeriod":"1s",...}), from
# 1.31 at the top level (pkg/proxy/apis/config/v1alpha1/conversion.go moves the mode's values there).
# Without /configz, the config file behind --config, read through kube-proxy's root, with v1alpha1's
# defaulting (pkg/proxy/apis/config/v1alpha1/defaults.go): iptables syncPeriod 0 -> 30s and minSyncPeriod
# 0 -> 1s (EKS writes "minSyncPeriod: 0s"), ipvs syncPeriod 0 -> 30s; the rest as written. The mode is
# /proxyMode's answer, else the configuration's, else iptables (cmd/kube-proxy/app/server_linux.go).
MIN_SYNC=''
SYNC_PERIOD=''
CONFIG_SOURCE=''
readonly PERIOD_RE='^[0-9][0-9.]*(ns|us|ms|s|m|h)?([0-9][0-9.]*(ns|us|ms|s|m|h))*$'
readonly ZERO_PERIOD_RE='^(0+(\.0+)?(ns|us|ms|s|m|h)?)+$'
case $KP_MODE in ipvs) section=IPVS ;; nftables) section=NFTables ;; *) section=IPTables ;; esac
if ((KP_UP)) && [ "$CONFIGZ_RC" = 0 ]; then
  body=${CONFIGZ_BODY:0:65536}
  re_section='"(IPTables|IPVS|NFTables)":\{[^{}]*\}'
  re_mode='"Mode":"(iptables|ipvs|nftables)"'
  if [ -z "$KP_MODE" ] && [[ $body =~ $re_mode ]]; then
    case ${BASH_REMATCH[1]} in ipvs) section=IPVS ;; nftables) section=NFTables ;; *) section=IPTables ;; esac
  fi
  # the top level: the body without the three mode sections (none of which nests an object)
  top=$body
  mode_part=''
  while [[ $top =~ $re_section ]]; do
    [ "${BASH_REMATCH[1]}" = "$section" ] && mode_part=${BASH_REMATCH[0]}
    top=${top/"${BASH_REMATCH[0]}"/}
  done
  re_min='[{,]"MinSyncPeriod":"([^"]{1,32})"'
  re_sync='[{,]"SyncPeriod":"([^"]{1,32})"'
  for part in "$top" "$mode_part"; do
    [[ $part =~ $re_min ]] && [ -z "$MIN_SYNC" ] && MIN_SYNC=${BASH_REMATCH[1]}
    [[ $part =~ $re_sync ]] && [ -z "$SYNC_PERIOD" ] && SYNC_PERIOD=${BASH_REMATCH[1]}
  done
  unset body top mode_part part
  if [ -n "$MIN_SYNC$SYNC_PERIOD" ]; then
    CONFIG_SOURCE=configz
  else
    err 'kube-proxy: /configz shows no sync periods'
  fi
elif ((KP_UP)); then
  http_reason "$CONFIGZ_RC"
  err "kube-proxy: /configz $REPLY"
fi
CONFIGZ_BODY=''
if [ -z "$CONFIG_SOURCE" ] && [ -n "$KP_PID" ]; then
  config_path=$KP_CONFIG_PATH
  if [ -z "$config_path" ]; then
    err 'kube-proxy: started without --config; sync periods unknown'
  elif [ "${config_path:0:1}" != / ]; then
    err 'kube-proxy: relative --config path; sync periods unknown'
  elif [ ! -r "/proc/$KP_PID/root$config_path" ] || ! bounded 2; then
    err 'kube-proxy: config file not readable'
  else
    # YAML as the EKS add-on writes it: top-level keys at column 0, a mode's keys indented under it.
    declare -A CFG=()
    current=''
    re_key='^([A-Za-z]+):[[:space:]]*"?([^"[:space:],#]*)'
    re_inner='^[[:space:]]+"?(minSyncPeriod|syncPeriod)"?:[[:space:]]*"?([^"[:space:],#]+)'
    while IFS= read -r line || [ -n "$line" ]; do
      if [[ $line =~ $re_key ]]; then
        current=${BASH_REMATCH[1]}
        CFG[$current]=${BASH_REMATCH[2]:0:64}
      elif [[ $line =~ $re_inner ]] && [ -n "$current" ]; then
        CFG[$current.${BASH_REMATCH[1]}]=${BASH_REMATCH[2]:0:32}
      fi
    done < <(exec timeout -k 1 "$TMO" head -c 65536 -- "/proc/$KP_PID/root$config_path" 2>/dev/null)
    file_mode=$KP_MODE
    [ -z "$file_mode" ] && file_mode=${CFG[mode]:-iptables}
    if [ -n "${CFG[minSyncPeriod]:-}${CFG[syncPeriod]:-}" ]; then
      # a configuration with the periods at the top level (v1alpha2): as written
      MIN_SYNC=${CFG[minSyncPeriod]:-}
      SYNC_PERIOD=${CFG[syncPeriod]:-}
    else
      MIN_SYNC=${CFG[$file_mode.minSyncPeriod]:-}
      SYNC_PERIOD=${CFG[$file_mode.syncPeriod]:-}
      if [[ ${CFG[apiVersion]:-kubeproxy.config.k8s.io/v1alpha1} == */v1alpha1 ]]; then
        case $file_mode in
          iptables)
            [[ -z $SYNC_PERIOD || $SYNC_PERIOD =~ $ZERO_PERIOD_RE ]] && SYNC_PERIOD=30s
            [[ -z $MIN_SYNC || $MIN_SYNC =~ $ZERO_PERIOD_RE ]] && MIN_SYNC=1s
            ;;
          ipvs) [[ -z $SYNC_PERIOD || $SYNC_PERIOD =~ $ZERO_PERIOD_RE ]] && SYNC_PERIOD=30s ;;
        esac
      fi
    fi
    unset CFG current line file_mode
    if [ -n "$MIN_SYNC$SYNC_PERIOD" ]; then
      CONFIG_SOURCE=file
    else
      err 'kube-proxy: config sets no sync periods'
    fi
  fi
fi
[[ $MIN_SYNC =~ $PERIOD_RE ]] || MIN_SYNC=''
[[ $SYNC_PERIOD =~ $PERIOD_RE ]] || SYNC_PERIOD=''

# --- log window ---------------------------------------------------------------------------------------------

# Hours with up to three decimals, more than 0 and at most 720; seconds are computed without floating point.
WINDOW_SECONDS=0
if [[ ${FLEET_AUDIT_LOG_WINDOW_HOURS:-24} =~ ^([0-9]{1,4})(\.([0-9]{1,3}))?$ ]]; then
  wh_int=$((10#${BASH_REMATCH[1]}))
  wh_frac="${BASH_REMATCH[3]}000"
  wh_frac=${wh_frac:0:3}
  WINDOW_SECONDS=$((wh_int * 3600 + 10#$wh_frac * 36 / 10))
fi
if ((WINDOW_SECONDS <= 0 || WINDOW_SECONDS > 720 * 3600)); then
  err 'logs: FLEET_AUDIT_LOG_WINDOW_HOURS ignored (want hours, more than 0 and up to 720)'
  wh_int=24
  wh_frac=000
  WINDOW_SECONDS=86400
fi
wh_frac=${wh_frac%0}
wh_frac=${wh_frac%0}
wh_frac=${wh_frac%0}
WINDOW_HOURS_JSON=$wh_int${wh_frac:+.$wh_frac}
WINDOW_START=$((NOW_S - WINDOW_SECONDS))

# Sets REPLY to the epoch seconds of an RFC 3339 / ISO 8601 time at the start of $1 ("T" or " ", fractions,
# Z or an offset), or -1: the shell twin of AWK_EPOCH, for a handful of lines where an awk would cost more.
readonly JSON_TIME_RE='"time":"([^"]+)"'
readonly ISO_RE='^([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?([Zz]|([-+])([0-9]{2}):?([0-9]{2})?)'
iso_epoch() {
  local y mo d h mi sec off=0 era yoe doy doe yy
  REPLY=-1
  [[ $1 =~ $ISO_RE ]] || return 0
  y=$((10#${BASH_REMATCH[1]}))
  mo=$((10#${BASH_REMATCH[2]}))
  d=$((10#${BASH_REMATCH[3]}))
  h=$((10#${BASH_REMATCH[4]}))
  mi=$((10#${BASH_REMATCH[5]}))
  sec=$((10#${BASH_REMATCH[6]}))
  ((mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && sec <= 60)) || return 0
  if [ -n "${BASH_REMATCH[9]}" ]; then
    off=$((10#${BASH_REMATCH[10]} * 3600 + 10#${BASH_REMATCH[11]:-0} * 60))
    [ "${BASH_REMATCH[9]}" = - ] && off=$((-off))
  fi
  yy=$((mo <= 2 ? y - 1 : y))
  era=$((yy / 400))
  yoe=$((yy - era * 400))
  doy=$(((153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1))
  doe=$((yoe * 365 + yoe / 4 - yoe / 100 + doy))
  REPLY=$(((era * 146097 + doe - 719468) * 86400 + h * 3600 + mi * 60 + sec - off))
}

# --- restarts: from the current pod's folder (kubelet names a container's log after its restart count) ----

PODS_DIR="$ROOT/var/log/pods"

# restarts_of POD_PREFIX CONTAINER: sets RESTARTS (the highest N of N.log in the most recently modified pod
# folder: kubelet's buildContainerLogsPath) and IN_WINDOW (restarts whose container started inside the log
# window), both empty when unknown. A container's start is the first line of its oldest plain log file
# (N.log, or a rotated N.log.<time>; a compressed rotation means it started earlier still). Starts grow with
# N, so a restart whose files kubelet already removed counts when a lower N started inside the window too;
# otherwise the count is a lower bound, and errors says so.
restarts_of() {
  local newest='' d f n max=-1 line ts lo_in=-1 hi_out=-1 k
  local -A first=() packed=()
  RESTARTS=''
  IN_WINDOW=''
  for d in "$PODS_DIR/kube-system_$1-"*/; do
    [ -d "$d" ] || continue
    if [ -z "$newest" ] || [ "$d" -nt "$newest" ]; then newest=$d; fi
  done
  if [ -z "$newest" ]; then
    err "restarts: no $2 pod logs under /var/log/pods"
    return
  fi
  for f in "$newest$2/"*.log*; do
    n=${f##*/}
    n=${n%%.*}
    [[ $n =~ ^[0-9]+$ ]] || continue
    n=$((10#$n))
    ((n > max)) && max=$n
    case $f in
      *.gz | *.bz2 | *.xz | *.zst)
        packed[$n]=1
        continue
        ;;
    esac
    [ -f "$f" ] || continue
    line=''
    IFS= read -r line 2>/dev/null <"$f"
    ts=${line%% *}
    # docker json-file lines: {"log":"...","stream":"...","time":"<RFC 3339>"}
    [[ $line == '{'* && $line =~ $JSON_TIME_RE ]] && ts=${BASH_REMATCH[1]}
    iso_epoch "$ts"
    ((REPLY >= 0)) || continue
    if [ -z "${first[$n]:-}" ] || ((REPLY < first[$n])); then first[$n]=$REPLY; fi
  done
  if ((max < 0)); then
    err "restarts: no $2 container log in its pod folder"
    return
  fi
  RESTARTS=$max
  for k in "${!first[@]}"; do
    if ((first[$k] < WINDOW_START)); then
      ((k > hi_out)) && hi_out=$k
    elif [ -z "${packed[$k]:-}" ] && { ((lo_in < 0)) || ((k < lo_in)); }; then
      lo_in=$k
    fi
  done
  if ((lo_in < 0)); then
    # no container known to have started inside the window: none did if the newest started before it
    if ((hi_out == max)); then IN_WINDOW=0; else err "restarts: $2 restarts in the window unknown"; fi
    return
  fi
  ((lo_in <= hi_out)) && lo_in=$((hi_out + 1))
  ((lo_in < 1)) && lo_in=1
  IN_WINDOW=$((max - lo_in + 1))
  ((IN_WINDOW < 0)) && IN_WINDOW=0
  if ((lo_in > 1 && lo_in - 1 != hi_out)); then
    err "restarts: $2 restarts in the window are a lower bound (older logs removed)"
  fi
}
restarts_of aws-node aws-node
RESTARTS_AWS_NODE=$RESTARTS
AWS_NODE_IN_WINDOW=$IN_WINDOW
restarts_of kube-proxy kube-proxy
RESTARTS_KUBE_PROXY=$RESTARTS
KUBE_PROXY_IN_WINDOW=$IN_WINDOW

# --- logs ---------------------------------------------------------------------------------------------------

# select_logs LABEL FILE...: sets SELECTED (oldest first) to the plain files among FILE... modified inside
# the window (the first FILE always, when it exists: it is the live one), newest first up to the byte cap;
# PARTIAL is the file of which only the newest bytes fit, PARTIAL_BYTES how many. Compressed files are skipped.
select_logs() {
  local label=$1 always=$2 mtime size name i j total=0 stat_lines=0
  shift 2
  local names=() mtimes=() sizes=() order=() plain=()
  SELECTED=()
  PARTIAL=''
  PARTIAL_BYTES=0
  for name in "$@"; do
    case $name in *.gz | *.bz2 | *.xz | *.zst) continue ;; esac
    [ -f "$name" ] && plain+=("$name")
  done
  ((${#plain[@]})) || return 0
  bounded 2 || { err "logs: $label skipped, time budget spent"; return 0; }
  while read -r mtime size name; do
    [[ $mtime =~ ^[0-9]+$ && $size =~ ^[0-9]+$ ]] || continue
    stat_lines=$((stat_lines + 1))
    ((mtime >= WINDOW_START)) || [ "$name" = "$always" ] || continue
    names+=("$name")
    mtimes+=("$mtime")
    sizes+=("$size")
  done < <(timeout -k 1 "$TMO" stat -c '%Y %s %n' -- "${plain[@]}" 2>/dev/null)
  if ((stat_lines == 0)); then
    err "logs: $label files could not be listed"
    return 1
  fi
  # newest first (a handful of files: insertion sort)
  for ((i = 0; i < ${#names[@]}; i++)); do
    j=${#order[@]}
    order+=("$i")
    while ((j > 0)) && ((mtimes[order[j - 1]] < mtimes[i])); do
      order[j]=${order[j - 1]}
      ((j--))
    done
    order[j]=$i
  done
  for i in "${order[@]}"; do
    if ((total + sizes[i] <= LOG_CAP_BYTES)); then
      SELECTED=("${names[i]}" "${SELECTED[@]}")
      total=$((total + sizes[i]))
    else
      PARTIAL=${names[i]}
      PARTIAL_BYTES=$((LOG_CAP_BYTES - total))
      err "logs: $label read capped at $LOG_CAP_TEXT; counts are lower bounds"
      break
    fi
  done
}

# stream_logs: the partial (oldest) part first, then the selected files, oldest to newest.
stream_logs() {
  if [ -n "$PARTIAL" ] && ((PARTIAL_BYTES > 0)); then
    timeout -k 1 "$TMO" tail -c "$PARTIAL_BYTES" -- "$PARTIAL" 2>/dev/null
  fi
  if ((${#SELECTED[@]})); then timeout -k 1 "$TMO" cat -- "${SELECTED[@]}" 2>/dev/null; fi
}

# kube-proxy container logs, CRI format "<RFC3339Nano> <stream> <P|F> <klog line>": the record's own
# timestamp decides the window; a line may count in more than one signal. A lock error is a time-out,
# "Stopped waiting after Ns." (iptables xshared.c xtables_lock_or_exit): iptables before 1.8.8 also printed
# "Another app is currently holding the xtables lock; still ...s ...us time ahead" every ten polls while
# waiting, which are progress, not errors.
readonly AWK_KP_LOGS="$AWK_EPOCH"'
/Stopped waiting after|Failed to execute iptables-restore|"iptables restore"/ {
  l = index($0, "Stopped waiting after") > 0
  r = index($0, "Failed to execute iptables-restore") > 0
  s = index($0, "\"iptables restore\"") > 0 && index($0, "total time:") > 0
  if (!(l || r || s)) next
  t = epoch($1)
  if (t < 0 || t < from || t > now) next
  lock += l; restore += r; slow += s
}
END { printf "%d %d %d\n", lock, restore, slow }
'

# ipamd.log, zap JSON lines with "ts" (ISO 8601 text, or epoch seconds in old builds). The version is
# taken from the newest "Starting L-IPAMD" line, inside the window or not.
readonly AWK_IPAMD_LOGS="$AWK_EPOCH"'
/Unable to reach API Server|Starting L-IPAMD/ {
  u = index($0, "Unable to reach API Server") > 0
  st = index($0, "Starting L-IPAMD")
  t = -1
  if (match($0, /"ts":"[^"]*"/)) t = epoch(substr($0, RSTART + 6, RLENGTH - 7))
  else if (match($0, /"ts":[0-9][0-9.eE+]*/)) t = int(substr($0, RSTART + 5, RLENGTH - 5) + 0)
  if (st) {
    rest = substr($0, st + 16); sub(/^ +/, "", rest)
    if (match(rest, /^v?[0-9][A-Za-z0-9._+-]*/) && (t >= vt || vt == "")) { ver = substr(rest, 1, RLENGTH); vt = t }
  }
  if (t < 0 || t < from || t > now) next
  unreach += u; starts += (st > 0)
}
END { printf "%d %d %s\n", unreach, starts, (ver == "" ? "-" : substr(ver, 1, 48)) }
'

KP_LOCK_ERRORS=''
KP_RESTORE_FAILURES=''
KP_SLOW_RESTORES=''
kp_logs=("$PODS_DIR"/kube-system_kube-proxy-*/kube-proxy/*.log*)
if [ -e "${kp_logs[0]}" ]; then
  if select_logs kube-proxy '' "${kp_logs[@]}" && bounded 4; then
    read -r KP_LOCK_ERRORS KP_RESTORE_FAILURES KP_SLOW_RESTORES < <(
      stream_logs | timeout -k 1 "$TMO" awk -v from="$WINDOW_START" -v now="$NOW_S" "$AWK_KP_LOGS"
    )
  fi
  [[ $KP_LOCK_ERRORS =~ ^[0-9]+$ ]] || { KP_LOCK_ERRORS=''; err 'logs: kube-proxy logs could not be counted'; }
else
  err 'logs: no kube-proxy pod logs under /var/log/pods'
fi

IPAMD_API_UNREACHABLE=''
IPAMD_STARTS=''
AWS_NODE_VERSION=''
ENI_DIR="$ROOT/var/log/aws-routed-eni"
if [ -f "$ENI_DIR/ipamd.log" ]; then
  if select_logs ipamd "$ENI_DIR/ipamd.log" "$ENI_DIR/ipamd.log" "$ENI_DIR"/ipamd-*.log* && bounded 4; then
    read -r IPAMD_API_UNREACHABLE IPAMD_STARTS AWS_NODE_VERSION < <(
      stream_logs | timeout -k 1 "$TMO" awk -v from="$WINDOW_START" -v now="$NOW_S" "$AWK_IPAMD_LOGS"
    )
  fi
  [ "$AWS_NODE_VERSION" = - ] && AWS_NODE_VERSION=''
  [[ $IPAMD_API_UNREACHABLE =~ ^[0-9]+$ ]] || { IPAMD_API_UNREACHABLE=''; err 'logs: ipamd.log could not be counted'; }
else
  err 'logs: no ipamd.log under /var/log/aws-routed-eni'
fi

# Without a "Starting L-IPAMD" line (rotated away), a running ipamd's own metrics name its build.
if [ -z "$AWS_NODE_VERSION" ] && [ -z "$IPAMD_PID" ]; then
  err 'awsNode: version not in ipamd.log and ipamd not running'
elif [ -z "$AWS_NODE_VERSION" ]; then
  IPAMD_URL=${FLEET_AUDIT_IPAMD_URL:-http://127.0.0.1:61678}
  IPAMD_URL=${IPAMD_URL%/}
  AWS_NODE_VERSION=$(
    http GET "$IPAMD_URL/metrics" 2 |
      timeout -k 1 2 awk '/^awscni_build_info[{]/ && match($0, /[{,]version="[^"]*"/) { print substr($0, RSTART + 10, RLENGTH - 11); exit }'
  )
  if ! [[ $AWS_NODE_VERSION =~ ^v?[0-9][A-Za-z0-9._+-]*$ ]]; then
    AWS_NODE_VERSION=''
    err 'awsNode: version not in ipamd.log nor ipamd metrics'
  fi
fi

# --- lock result ----------------------------------------------------------------------------------------------

LOCK_SAMPLES_OUT=0
LOCK_BUSY=null
LOCK_WAITED=null
LOCK_WAITERS_MAX=null
LOCK_WINDOW=null
LOCK_HOLDERS=null
LOCK_WAITERS=null
holders=()
waiters=()
lock_ok=0
while IFS= read -r -t 15 -u "$LOCK_FD" line; do
  case $line in
    'W '*)
      window_s=${line#W }
      [[ $window_s =~ ^([0-9]+)\.([0-9]{3})$ ]] && LOCK_WINDOW=$((10#${BASH_REMATCH[1]} * 1000 + 10#${BASH_REMATCH[2]}))
      ;;
    'ok '*)
      # "ok SAMPLES BUSY WAITED WAITERSMAX" (no here-string: bash before 5.1 writes those to a temporary file)
      set -f
      fields=(${line#ok })
      set +f
      LOCK_SAMPLES_OUT=${fields[0]:-0}
      LOCK_BUSY=${fields[1]:-null}
      LOCK_WAITED=${fields[2]:-null}
      LOCK_WAITERS_MAX=${fields[3]:-null}
      lock_ok=1
      ;;
    'H '*) holders+=("${line:2:31}") ;;
    'V '*) waiters+=("${line:2:31}") ;;
    nofile) err "lock: no lock file at ${LOCK_PATH:0:100}" ;;
    nostat) err "lock: cannot stat ${LOCK_PATH:0:100}" ;;
    E) break ;;
  esac
done
exec {LOCK_FD}<&-
# JSON array of strings
jarray() {
  local item list=''
  for item in "$@"; do
    jstr "$item"
    list+="${list:+,}$REPLY"
  done
  REPLY="[$list]"
}
if ((lock_ok)); then
  jarray "${holders[@]}"
  LOCK_HOLDERS=$REPLY
  jarray "${waiters[@]}"
  LOCK_WAITERS=$REPLY
else
  LOCK_SAMPLES_OUT=0
  LOCK_BUSY=null
  LOCK_WAITED=null
  LOCK_WAITERS_MAX=null
  LOCK_WINDOW=null
fi
# Whether an iptables-legacy writer can exist here: only legacy takes the lock (xtables_lock_or_exit is
# called by iptables.c, ip6tables.c and iptables-restore.c; xtables-restore.c ignores -w), and aws-node creates
# /run/xtables.lock on every node (hostPath FileOrCreate in the aws-node DaemonSet), so its existence says
# nothing. Not applicable when kube-proxy's image uses nft and no legacy rules are on the host; unknown (null)
# when either is unknown.
LOCK_APPLICABLE=null
case $KP_IPT_BACKEND:$IPT_BACKEND in
  nft:nft | nft:none) LOCK_APPLICABLE=false ;;
  legacy:* | *:legacy | *:mixed) LOCK_APPLICABLE=true ;;
esac

# --- output ---------------------------------------------------------------------------------------------------

# bash 5 has the clock in a variable (microseconds); bash 4 needs date.
END_MS=''
if ((BASH_VERSINFO[0] >= 5)) && [[ ${EPOCHREALTIME:-} =~ ^([0-9]+)\.([0-9]{3})[0-9]*$ ]]; then
  END_MS=${BASH_REMATCH[1]}${BASH_REMATCH[2]}
else
  END_MS=$(exec timeout 2 date +%s%3N 2>/dev/null)
fi
[[ $END_MS =~ ^[0-9]+$ ]] || END_MS=$START_MS
DURATION_MS=$((END_MS - START_MS))

OUT='{"schema":"fleet-audit.collector/v2",'
str collectedAt "$COLLECTED_AT"
num durationMs "$DURATION_MS"
open node
str instanceId "$INSTANCE_ID"
str hostname "${HOST_NAME:0:64}"
str os "$OS"
str kernel "${KERNEL:0:64}"
num uptimeSeconds "$UPTIME"
close
open iptables
str version "$IPT_VERSION"
str backend "$IPT_BACKEND"
num legacyRules "${IPT[legacyRules]:-}"
num nftRules "${IPT[nftRules]:-}"
if [ -n "${IPT[total]:-}" ]; then
  open rules
  num total "${IPT[total]}"
  num nat "${IPT[nat]}"
  num filter "${IPT[filter]}"
  num mangle "${IPT[mangle]}"
  num raw "${IPT[raw]}"
  close
  open chains
  num nat "${IPT[chainsNat]}"
  num filter "${IPT[chainsFilter]}"
  close
else
  raw rules null
  raw chains null
fi
num kubeServiceChains "${IPT[svc]:-}"
num kubeEndpointChains "${IPT[sep]:-}"
num saveMs "${IPT[saveMs]:-}"
case ${IPT[legacyTablesWarning]:-} in true | false) raw legacyTablesWarning "${IPT[legacyTablesWarning]}" ;; *) raw legacyTablesWarning null ;; esac
close
open lock
str path "${LOCK_PATH:0:100}"
raw applicable "$LOCK_APPLICABLE"
num samples "$LOCK_SAMPLES_OUT"
num busy "$LOCK_BUSY"
num waited "$LOCK_WAITED"
num waitersMax "$LOCK_WAITERS_MAX"
num windowMs "$LOCK_WINDOW"
raw holders "$LOCK_HOLDERS"
raw waiters "$LOCK_WAITERS"
close
open kubeProxy
str mode "$KP_MODE"
str iptablesBackend "$KP_IPT_BACKEND"
for key in syncCount syncSecondsSum syncP99Seconds syncP99LowerSeconds lastSyncAgeSeconds lastQueuedAgeSeconds \
  restoreFailures partialRestoreFailures; do
  num "$key" "${KP[$key]:-}"
done
str minSyncPeriod "$MIN_SYNC"
str syncPeriod "$SYNC_PERIOD"
str configSource "$CONFIG_SOURCE"
close
open awsNode
raw clusterEndpointSet "$CLUSTER_ENDPOINT_SET"
str version "$AWS_NODE_VERSION"
raw podEni "$POD_ENI"
raw customNetworking "$CUSTOM_NETWORKING"
close
open restarts
num awsNode "$RESTARTS_AWS_NODE"
num kubeProxy "$RESTARTS_KUBE_PROXY"
num awsNodeInWindow "$AWS_NODE_IN_WINDOW"
num kubeProxyInWindow "$KUBE_PROXY_IN_WINDOW"
close
open logs
num windowHours "$WINDOW_HOURS_JSON"
num kubeProxyLockErrors "$KP_LOCK_ERRORS"
num kubeProxyRestoreFailures "$KP_RESTORE_FAILURES"
num kubeProxySlowRestores "$KP_SLOW_RESTORES"
num ipamdApiUnreachable "$IPAMD_API_UNREACHABLE"
num ipamdStarts "$IPAMD_STARTS"
close

# The errors list takes what room is left; when it does not all fit, its last entry says how many were cut.
errors_json=''
room=$((MAX_BYTES - ${#OUT} - 14))
kept=0
for e in "${ERRORS[@]}"; do
  jstr "$e"
  reserve=0
  ((kept + 1 < ${#ERRORS[@]})) && reserve=28
  ((${#errors_json} + ${#REPLY} + 1 + reserve > room)) && break
  errors_json+="${errors_json:+,}$REPLY"
  kept=$((kept + 1))
done
if ((kept < ${#ERRORS[@]})); then
  errors_json+="${errors_json:+,}\"+$((${#ERRORS[@]} - kept)) more errors cut\""
fi
OUT+="\"errors\":[$errors_json]}"
printf '%s\n' "$OUT"
exit 0
