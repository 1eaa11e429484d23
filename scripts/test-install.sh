#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions called through check() look unreachable to shellcheck
# Proves that an installed codelay is usable the way a downstream project would use it:
#   1. configure + build build/main (same options as scripts/test.sh; a no-op after it),
#   2. `cmake --install` into a scratch prefix, and check the layout: libcodelay.so ->
#      libcodelay.so.0 -> libcodelay.so.X.Y.Z with SONAME libcodelay.so.0, the public header only,
#      nothing internal, only codelay_* symbols exported, a valid codelay.pc, the CMake package;
#   3. build tests/install (a tiny consumer) against that prefix with find_package(codelay), with
#      CMake's pkg-config module, and with a bare `cc ... $(pkg-config --cflags --libs codelay)`,
#      and run each one;
#   4. a DESTDIR staging install and the runtime component alone.
# Everything lives in build/install-test/. No arguments. CODELAY_BUILD_ROOT (default build) moves
# both build/main and build/install-test elsewhere.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"
jobs="${CODELAY_JOBS:-$(nproc)}"
broot="${CODELAY_BUILD_ROOT:-build}"
main="$broot/main"
work="$root/$broot/install-test"
prefix="$work/prefix"

pass=0
fail=0
ok() {
  echo "  ok   - $*"
  pass=$((pass + 1))
}
bad() {
  echo "  FAIL - $*"
  fail=$((fail + 1))
}
# check "what" command...: runs the command quietly, shows its output only on failure.
check() {
  local what="$1"
  shift
  local out
  if out="$("$@" 2>&1)"; then
    ok "$what"
  else
    bad "$what"
    printf '%s\n' "$out" | sed 's/^/         | /' | tail -n 40
  fi
}
finish() {
  if [[ $fail -eq 0 ]]; then
    echo "test-install: PASS ($pass checks)"
    exit 0
  fi
  echo "test-install: FAIL ($fail of $((pass + fail)) checks failed)"
  exit 1
}

rm -rf "$work"
mkdir -p "$work"
echo "== build $main"
cmake -S . -B "$main" -DCMAKE_BUILD_TYPE=Release -DCODELAY_BUILD_TESTS=ON \
  -DCODELAY_BUILD_BENCH=ON -DCODELAY_BUILD_TOOLS=ON >"$work/configure.log" 2>&1 ||
  {
    tail -n 30 "$work/configure.log"
    bad "configure $main"
    finish
  }
if cmake --build "$main" -j "$jobs" >"$work/build.log" 2>&1; then
  ok "$main builds"
else
  # A broken test or benchmark is the ctest stage's business; what gets installed is the library
  # and the CLI, so build just those and go on.
  echo "  warning: the full build of $main failed (log: $work/build.log); building the installed targets only"
  grep -m 5 -E 'error|Error' "$work/build.log" | sed 's/^/         | /' || true
  if ! cmake --build "$main" -j "$jobs" --target codelay >>"$work/build.log" 2>&1; then
    tail -n 30 "$work/build.log"
    bad "cmake --build $main --target codelay (log: $work/build.log)"
    finish
  fi
  if grep -q codelay_cli "$main/CMakeFiles/TargetDirectories.txt" 2>/dev/null &&
    ! cmake --build "$main" -j "$jobs" --target codelay_cli >>"$work/build.log" 2>&1; then
    bad "cmake --build $main --target codelay_cli (log: $work/build.log)"
  fi
  ok "$main: the installed targets build"
fi
# The project version, from project(codelay VERSION x.y.z) in the top-level CMakeLists.txt.
version="$(sed -n 's/^project(codelay VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)"

echo "== cmake --install $main --prefix $prefix"
if ! cmake --install "$main" --prefix "$prefix" >"$work/install.log" 2>&1; then
  cat "$work/install.log"
  bad "cmake --install"
  finish
fi
ok "cmake --install"

# --- layout --------------------------------------------------------------------------------
so0="$(find "$prefix" -name libcodelay.so.0 | head -n 1)"
if [[ -z "$so0" ]]; then
  bad "libcodelay.so.0 installed"
  find "$prefix" | sed 's/^/         | /'
  finish
fi
libdir="$(dirname "$so0")"
echo "   (libdir $libdir, version $version)"
check "libcodelay.so is a symlink to libcodelay.so.0" \
  test "$(readlink "$libdir/libcodelay.so")" = libcodelay.so.0
check "libcodelay.so.0 is a symlink to libcodelay.so.$version" \
  test "$(readlink "$libdir/libcodelay.so.0")" = "libcodelay.so.$version"
check "libcodelay.so.$version is a real file" \
  test -f "$libdir/libcodelay.so.$version" -a ! -L "$libdir/libcodelay.so.$version"
soname="$(readelf -d "$libdir/libcodelay.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
check "SONAME is libcodelay.so.0 (got '$soname')" test "$soname" = libcodelay.so.0
check "include/codelay.h installed, identical to the source" \
  cmp "$root/include/codelay.h" "$prefix/include/codelay.h"
unexpected_headers="$(cd "$prefix" && find . -name '*.h' ! -path ./include/codelay.h)"
check "no other header installed (${unexpected_headers:-none})" test -z "$unexpected_headers"
internal="$(cd "$prefix" && find . \( -name '*internal*' -o -name '*.a' \) -print)"
check "codelay_internal not installed (${internal:-none})" test -z "$internal"
foreign="$(nm -D --defined-only "$libdir/libcodelay.so.0" | awk '{print $3}' |
  grep -v '^codelay_' | grep -v '^CODELAY_0$' || true)"
check "only codelay_* symbols exported (${foreign:-ok})" test -z "$foreign"
check "codelayConfig.cmake, codelayConfigVersion.cmake, codelayTargets.cmake installed" \
  test -f "$libdir/cmake/codelay/codelayConfig.cmake" \
  -a -f "$libdir/cmake/codelay/codelayConfigVersion.cmake" \
  -a -f "$libdir/cmake/codelay/codelayTargets.cmake"
pcdir="$libdir/pkgconfig"
check "codelay.pc passes pkg-config --validate" pkg-config --validate "$pcdir/codelay.pc"
pcver="$(PKG_CONFIG_PATH="$pcdir" pkg-config --modversion codelay 2>&1 || true)"
check "pkg-config --modversion codelay = $version (got '$pcver')" test "$pcver" = "$version"
pcprefix="$(PKG_CONFIG_PATH="$pcdir" pkg-config --variable=prefix codelay 2>&1 || true)"
check "codelay.pc prefix is the install prefix (got '$pcprefix')" test "$pcprefix" = "$prefix"

# --- consumers -----------------------------------------------------------------------------
# needs_so0 BINARY: the consumer records the SONAME, not the unversioned dev symlink.
needs_so0() { readelf -d "$1" | grep -q 'NEEDED.*\[libcodelay.so.0\]'; }
# resolves_to_prefix BINARY [env...]: the loader picks libcodelay.so.0 from the prefix.
resolves_to_prefix() {
  local bin="$1" path
  shift
  path="$(env "$@" ldd "$bin" | sed -n 's/.*libcodelay\.so\.0 => \([^ ]*\) .*/\1/p')"
  [[ -n "$path" && "$(dirname "$(realpath "$path")")" == "$(realpath "$libdir")" ]] ||
    { echo "libcodelay.so.0 resolves to '${path:-nothing}'"; return 1; }
}
run_consumer() { # name binary [env...]
  local name="$1" bin="$2"
  shift 2
  check "$name: links libcodelay.so.0 (NEEDED)" needs_so0 "$bin"
  check "$name: loads the installed library" resolves_to_prefix "$bin" "$@"
  check "$name: runs the seed example" env "$@" "$bin"
}

echo "== consumer: find_package(codelay)"
if check "configure + build with find_package(codelay)" bash -c "
  cmake -S '$root/tests/install' -B '$work/consumer-cmake' -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH='$prefix' -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF &&
  cmake --build '$work/consumer-cmake'"; then
  found_dir="$(sed -n 's/^codelay_DIR:PATH=//p' "$work/consumer-cmake/CMakeCache.txt")"
  check "find_package used the prefix (codelay_DIR=$found_dir)" \
    test "$found_dir" = "$libdir/cmake/codelay"
  run_consumer "find_package consumer" "$work/consumer-cmake/consumer"
fi
check "find_package(codelay 1.0) is refused (SameMajorVersion)" bash -c "
  ! cmake -S '$root/tests/install' -B '$work/consumer-v1' -DCMAKE_PREFIX_PATH='$prefix' \
      -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCONSUMER_CODELAY_VERSION=1.0"

echo "== consumer: CMake + pkg-config"
if check "configure + build with pkg_check_modules(codelay)" env PKG_CONFIG_PATH="$pcdir" bash -c "
  cmake -S '$root/tests/install' -B '$work/consumer-pc' -DCMAKE_BUILD_TYPE=Release \
    -DCONSUMER_USE_PKGCONFIG=ON &&
  cmake --build '$work/consumer-pc'"; then
  run_consumer "pkg-config (CMake) consumer" "$work/consumer-pc/consumer"
fi

echo "== consumer: cc \$(pkg-config --cflags --libs codelay)"
cc_bin="$work/consumer-cc"
if check "cc -std=c99 -pedantic main.c \$(pkg-config --cflags --libs codelay)" \
  env PKG_CONFIG_PATH="$pcdir" bash -c "
  cc -std=c99 -Wall -Wextra -Werror -pedantic -O2 '$root/tests/install/main.c' \
    \$(pkg-config --cflags --libs codelay) -o '$cc_bin'"; then
  run_consumer "cc consumer" "$cc_bin" LD_LIBRARY_PATH="$libdir"
fi

# The CLI (tools/), when it is built and installed, must run from the prefix without
# LD_LIBRARY_PATH (install RPATH $ORIGIN/../lib).
if [[ -x "$prefix/bin/codelay" ]]; then
  echo "== installed CLI"
  check "bin/codelay info runs from the prefix without LD_LIBRARY_PATH" \
    env -u LD_LIBRARY_PATH "$prefix/bin/codelay" info
  check "bin/codelay loads the installed library" resolves_to_prefix "$prefix/bin/codelay"
fi

# --- packaging-style installs --------------------------------------------------------------
echo "== DESTDIR staging and components"
stage="$work/stage"
if check "DESTDIR=... cmake --install --prefix /usr" \
  env DESTDIR="$stage" cmake --install "$main" --prefix /usr; then
  staged_pc="$(find "$stage/usr" -name codelay.pc | head -n 1)"
  check "staged codelay.pc says prefix=/usr" grep -qx 'prefix=/usr' "${staged_pc:-/nonexistent}"
  leaked="$(find "$stage" -path "$stage/usr" -prune -o -type f -print)"
  check "nothing installed outside DESTDIR/usr (${leaked:-ok})" test -z "$leaked"
fi
rt="$work/runtime-only"
if check "cmake --install --component runtime" \
  cmake --install "$main" --prefix "$rt" --component runtime; then
  check "runtime component has libcodelay.so.0 and libcodelay.so.$version" \
    test -n "$(find "$rt" -name libcodelay.so.0)" -a -n "$(find "$rt" -name "libcodelay.so.$version")"
  dev_files="$(cd "$rt" && find . \( -name libcodelay.so -o -name '*.h' -o -name '*.pc' \
    -o -name '*.cmake' \) -printf '%f ')"
  check "runtime component has no development files (${dev_files:-ok})" test -z "$dev_files"
fi

finish
