#!/usr/bin/env bash
# tests/deps.sh PACKAGE... — make sure the tools a make target needs exist.
#
# Arguments are Debian package names.  A package whose command is already on
# PATH is left alone.  Missing ones are installed with apt-get when we are
# root on Debian/Ubuntu; otherwise we print the one command that installs
# them and fail, so `make test` never dies later with "command not found".
set -euo pipefail

command_of() {          # the program that proves a package is installed
    case $1 in
        nginx-light|nginx|nginx-core) echo nginx ;;
        libclang-rt-*-dev) echo "" ;;           # a library: checked by dpkg below
        util-linux) echo taskset ;;
        iproute2) echo ip ;;
        *) echo "$1" ;;
    esac
}

missing=()
for pkg in "$@"; do
    cmd=$(command_of "$pkg")
    if [[ -n $cmd ]]; then
        PATH=$PATH:/usr/sbin:/sbin command -v "$cmd" >/dev/null 2>&1 && continue
    else
        dpkg -s "$pkg" >/dev/null 2>&1 && continue
    fi
    missing+=("$pkg")
done
((${#missing[@]} == 0)) && exit 0

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    exit 0
fi
echo "deps: missing ${missing[*]}; install them with:" >&2
echo "    sudo apt-get install -y ${missing[*]}" >&2
exit 1
