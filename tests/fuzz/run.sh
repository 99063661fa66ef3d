#!/usr/bin/env bash
# tests/fuzz/run.sh — build the libFuzzer harnesses and run each one.
#
#   make fuzz                       every harness for 60 s
#   make fuzz FUZZ_SECONDS=600      longer
#   FUZZ_SECONDS=0 make fuzz        replay the seed corpus and past findings only
#   FUZZ_TARGETS="fuzz_path" make fuzz   only some harnesses
#
# Each harness tests/fuzz/fuzz_X.c is compiled with clang's libFuzzer plus
# AddressSanitizer and UndefinedBehaviorSanitizer into bin/fuzz/fuzz_X, and
# started on its committed seed corpus tests/fuzz/corpus/fuzz_X/.  Inputs it
# discovers go to bin/fuzz/corpus/fuzz_X/ (kept between runs, never
# committed).  A crash, a sanitizer report, a timeout or running out of
# memory stops it; the input that did it is saved as
# tests/fuzz/findings/fuzz_X-crash-… (git-ignored) and the script exits 1.
# A finding worth keeping becomes a regression case in
# tests/unit/test_regressions.c.
set -uo pipefail
cd "$(dirname "$0")/../.."

seconds=${FUZZ_SECONDS:-60}
[[ $seconds =~ ^[0-9]+$ ]] || { echo "fuzz: FUZZ_SECONDS must be a number of seconds" >&2; exit 2; }
out=bin/fuzz
findings=tests/fuzz/findings
mkdir -p "$out" "$findings"

# --- the compiler and its fuzzer runtime --------------------------------------
CLANG=${CLANG:-}
if [[ -z $CLANG ]]; then
    for c in clang clang-14 clang-15 clang-16; do
        command -v "$c" >/dev/null 2>&1 && { CLANG=$c; break; }
    done
fi
have_runtime() {
    [[ -n $CLANG ]] && echo 'int LLVMFuzzerTestOneInput(const char *d, long n){(void)d;(void)n;return 0;}' |
        "$CLANG" -x c -fsanitize=fuzzer,address,undefined - -o "$out/.probe" >/dev/null 2>&1
}
if ! have_runtime; then
    echo "fuzz: clang with its libFuzzer runtime is missing; installing clang libclang-rt-14-dev"
    tests/deps.sh clang libclang-rt-14-dev || true
    [[ -z $CLANG ]] && command -v clang >/dev/null 2>&1 && CLANG=clang
    if ! have_runtime; then
        echo "fuzz: still cannot link a fuzzer; install with: sudo apt-get install -y clang libclang-rt-14-dev" >&2
        exit 2
    fi
fi
rm -f "$out/.probe"

# --- the harnesses ------------------------------------------------------------
CFLAGS=(-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -Icommon
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Wall -Wextra)

# Everything a harness needs besides common/: the FTP harness includes the
# stage's command and line parsers, which live with the stage (one word per
# line: -I flags and source files).
extras() {
    case $1 in
        fuzz_ftp) for d in stages/stage11_*/; do echo "-I${d%/}"; ls "$d"shared*.c; done 2>/dev/null ;;
    esac
}
# Longest input worth trying: a little over the limit each parser enforces.
max_len() {
    case $1 in
        fuzz_http) echo 20000 ;; # HTTP_MAX_HEAD is 16384
        fuzz_path) echo 5000 ;;  # PATH_MAX is 4096
        *) echo 4096 ;;
    esac
}

harnesses=()
for src in tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c)
    if [[ -n ${FUZZ_TARGETS:-} && " $FUZZ_TARGETS " != *" $name "* ]]; then
        continue
    fi
    harnesses+=("$name")
done
((${#harnesses[@]})) || { echo "fuzz: no harness selected" >&2; exit 2; }

build() { # build NAME: compile the harness with common/ and its extras
    local name=$1 extras
    mapfile -t extras < <(extras "$name")
    "$CLANG" "${CFLAGS[@]}" "tests/fuzz/$name.c" common/*.c "${extras[@]}" \
        -o "$out/$name" -pthread 2>"$out/$name.build.log"
}

failed=()
for name in "${harnesses[@]}"; do
    if ! build "$name"; then
        cat "$out/$name.build.log" >&2
        echo "fuzz: $name: BUILD FAILED"
        failed+=("$name")
        continue
    fi
    seeds=tests/fuzz/corpus/$name
    work=$out/corpus/$name
    mkdir -p "$seeds" "$work"
    args=(-timeout=10 -rss_limit_mb=2048 -max_len="$(max_len "$name")"
          -artifact_prefix="$findings/$name-" -print_final_stats=1)
    [[ -f tests/fuzz/$name.dict ]] && args+=(-dict="tests/fuzz/$name.dict")
    if ((seconds == 0)); then
        # Replay: every seed and every past finding once, nothing new.
        # (Files, not directories, on the command line: libFuzzer then only
        # runs them.)
        mapfile -t inputs < <(find "$seeds" "$findings" -type f \( -path "$seeds/*" -o -name "$name-*" \))
        "$out/$name" "${args[@]}" "${inputs[@]}" >"$out/$name.log" 2>&1 && rc=0 || rc=$?
        execs=${#inputs[@]}
    else
        echo "fuzz: $name: running for $seconds s"
        "$out/$name" "${args[@]}" -max_total_time="$seconds" "$work" "$seeds" \
            >"$out/$name.log" 2>&1 && rc=0 || rc=$?
    fi
    [[ $seconds == 0 ]] || execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$name.log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$out/$name.log" | tail -1)
    corpus=$(find "$work" -type f | wc -l)
    if ((rc == 0)); then
        if ((seconds == 0)); then
            echo "fuzz: $name: ok — replayed $execs seed and finding inputs"
        else
            rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/$name.log" | tail -1)
            echo "fuzz: $name: ok — ${execs:-0} executions in ${seconds} s (${rate:-0}/s)," \
                 "${cov:-cov: ?}, $corpus inputs in $work"
        fi
    else
        grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz_[a-z]+:|artifact_prefix|Test unit written)|runtime error' \
            "$out/$name.log" | head -20 >&2
        echo "fuzz: $name: FAILED (exit $rc) after ${execs:-?} executions; log: $out/$name.log;" \
             "input saved under $findings/"
        failed+=("$name")
    fi
done

if ((${#failed[@]})); then
    echo "fuzz: failed: ${failed[*]}"
    exit 1
fi
echo "fuzz: all ${#harnesses[@]} harnesses clean"
