#!/usr/bin/env bash
# Installs the Debian packages that codelay's build, tests and benchmark report need.
#
# Idempotent and fast: when everything is present (asked of dpkg-query, no network), it prints
# one line and exits 0. Otherwise, as root, it runs `apt-get update` once and installs only what
# is missing. On amd64 it also enables the arm64 architecture (multiarch) for check:arm64, which
# the cross-compiled NEON tests under qemu-aarch64 link against.
#
#   CODELAY_SKIP_DEPS=1   do nothing (an image prepared some other way)
set -euo pipefail

if [[ "${CODELAY_SKIP_DEPS:-0}" == 1 ]]; then
  echo "deps.sh: skipped (CODELAY_SKIP_DEPS=1)"
  exit 0
fi

# What each package is for; keep one reason per line so the list stays reviewable.
packages=(
  build-essential      # gcc, make, libc headers
  cmake                # >= 3.20
  pkg-config           # finds check, and codelay.pc in the install test
  check                # the C unit-test framework (tests/)
  libsimde-dev         # NEON intrinsics on x86 (simd/arm/neon.c through SIMDe)
  libbenchmark-dev     # Google Benchmark behind the C shim (bench/)
  valgrind             # memcheck runs and the callgrind regression gate
  clang                # libFuzzer targets and sanitizer builds
  libclang-rt-14-dev   # clang's sanitizer and libFuzzer runtimes
  qemu-user            # qemu-x86_64 -cpu ... for the lower x86 rungs, qemu-aarch64 for NEON
  gnuplot-nox          # the benchmark report's chart
  python3-numpy        # /usr/bin/python3 + numpy: the Python binding and CLI tests
  python3-torch        # the binding's zero-copy PyTorch tensor tests (skipped without it)
)
foreign_arch=""
native_arch="$(dpkg --print-architecture 2>/dev/null || echo unknown)"
if [[ "$native_arch" == amd64 ]]; then
  packages+=(gcc-aarch64-linux-gnu) # cross compiler for the aarch64 build
  foreign_arch=arm64
  packages+=(check:arm64) # Check for the cross build (pulls libc6:arm64, libsubunit-dev:arm64)
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "deps.sh: not a Debian system (no dpkg-query): install the equivalent of" >&2
  echo "  ${packages[*]}" >&2
  echo "deps.sh: FAIL" >&2
  exit 1
fi

# "ii " is installed and configured; anything else (rc, un, absent) is missing. An unqualified
# name must be installed for the native architecture (or be arch: all): with multiarch, `check`
# matches both check:amd64 and check:arm64.
is_installed() {
  local want="$native_arch"
  [[ "$1" == *:* ]] && want="${1##*:}"
  dpkg-query -W -f='${Architecture} ${db:Status-Abbrev}\n' "$1" 2>/dev/null |
    grep -Eq "^($want|all) ii $"
}

need_arch=0
if [[ -n "$foreign_arch" ]] && ! dpkg --print-foreign-architectures | grep -qx "$foreign_arch"; then
  need_arch=1
fi
missing=()
for p in "${packages[@]}"; do
  if [[ "$need_arch" == 1 && "$p" == *":$foreign_arch" ]]; then
    missing+=("$p") # cannot even be queried before the architecture is added
  elif ! is_installed "$p"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 && "$need_arch" == 0 ]]; then
  echo "deps.sh: all ${#packages[@]} packages present"
  exit 0
fi

if [[ "$need_arch" == 1 ]]; then
  echo "deps.sh: missing: ${missing[*]} (and the $foreign_arch architecture)"
else
  echo "deps.sh: missing: ${missing[*]}"
fi
if [[ "$(id -u)" != 0 ]]; then
  echo "deps.sh: run as root (or: sudo $0), or install them yourself:" >&2
  [[ "$need_arch" == 1 ]] && echo "  dpkg --add-architecture $foreign_arch" >&2
  echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
  echo "deps.sh: FAIL" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q -o DPkg::Lock::Timeout=600)
if [[ "$need_arch" == 1 ]]; then
  dpkg --add-architecture "$foreign_arch"
fi
apt-get "${apt_opts[@]}" update
apt-get "${apt_opts[@]}" install "${missing[@]}"

still=()
for p in "${missing[@]}"; do
  is_installed "$p" || still+=("$p")
done
if [[ ${#still[@]} -ne 0 ]]; then
  echo "deps.sh: FAIL: still missing after apt-get install: ${still[*]}" >&2
  exit 1
fi
echo "deps.sh: installed ${#missing[@]} package(s): ${missing[*]}"
