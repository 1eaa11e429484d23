#!/usr/bin/env bash
# ABI hygiene of the shared library (issue 5), in build/abi:
#   - it exports exactly the `symbol` lines of tests/abi/codelay.abi (all codelay_*, version node
#     CODELAY_0) and nothing else (nm -D --defined-only);
#   - its SONAME is the stored one, its file name carries codelay_version(), and the SONAME's
#     number is the version's major (readelf -d);
#   - include/codelay.h compiles alone as C99 and C11 (gcc and clang) and as C++11/C++17 (g++ and
#     clang++) with -Wall -Wextra -Werror -pedantic, and included twice;
#   - tests/abi/abi_check: struct layouts and enum values equal the stored ones, every prototype
#     has its stored type, codelay_version() equals the header macros.
# An intended ABI change updates tests/abi/codelay.abi in the same commit (`abi_check --print`).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${CODELAY_BUILD_ROOT:-build}/abi"
JOBS=${CODELAY_JOBS:-2}
mkdir -p "$(dirname "$BUILD")"
STORED=tests/abi/codelay.abi
failures=0
fail() {
  echo "test-abi: FAIL: $*"
  failures=$((failures + 1))
}

cmake -S tests/abi -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >"$BUILD.log" 2>&1 ||
  { cat "$BUILD.log"; echo "test-abi: FAIL (configure)"; exit 1; }
cmake --build "$BUILD" -j"$JOBS" --target codelay abi_check >>"$BUILD.log" 2>&1 ||
  { tail -40 "$BUILD.log"; echo "test-abi: FAIL (build)"; exit 1; }
LIB="$BUILD/codelay/libcodelay.so"
[ -e "$LIB" ] || { echo "test-abi: FAIL: $LIB not built"; exit 1; }

# 1. Exported symbols: only codelay_*, exactly the stored list.
actual=$(nm -D --defined-only "$LIB" | awk '$2 != "A" { split($3, a, "@@"); print "symbol " a[1] " " a[2] }' | sort)
if echo "$actual" | awk '{ print $2 }' | grep -v '^codelay_' >/dev/null; then
  fail "exported symbols without the codelay_ prefix: $(echo "$actual" | awk '{ print $2 }' | grep -v '^codelay_' | tr '\n' ' ')"
fi
if ! diff -u <(grep '^symbol ' "$STORED" | sort) <(echo "$actual") >"$BUILD/symbols.diff"; then
  cat "$BUILD/symbols.diff"
  fail "exported symbols differ from $STORED (- stored, + built)"
fi
nsym=$(echo "$actual" | wc -l)

# 2. SONAME, file name and version.
soname=$(readelf -d "$LIB" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
stored_soname=$(sed -n 's/^soname //p' "$STORED")
[ "$soname" = "$stored_soname" ] || fail "SONAME '$soname', stored '$stored_soname'"
version=$(LD_LIBRARY_PATH="$BUILD/codelay" "$BUILD/abi_check" --version)
real=$(basename "$(readlink -f "$LIB")")
[ "$real" = "libcodelay.so.$version" ] || fail "library file $real does not carry codelay_version() $version"
[ "${soname##*.so.}" = "${version%%.*}" ] || fail "SONAME $soname does not match the major of $version"

# 3. The public header alone, in every language mode it promises.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '#include "codelay.h"\n#include "codelay.h"\nint main(void) { return CODELAY_OK; }\n' >"$tmp/h.c"
cp "$tmp/h.c" "$tmp/h.cpp"
sed -i 's/(void)/()/' "$tmp/h.cpp"
warn=(-Wall -Wextra -Werror -pedantic)
headers=0
for cc in gcc clang; do
  command -v $cc >/dev/null || continue
  for std in c99 c11; do
    $cc -std=$std "${warn[@]}" -Wstrict-prototypes -Iinclude -c "$tmp/h.c" -o "$tmp/h.o" ||
      fail "include/codelay.h does not compile alone with $cc -std=$std"
    headers=$((headers + 1))
  done
done
for cxx in g++ clang++; do
  command -v $cxx >/dev/null || continue
  for std in c++11 c++17; do
    $cxx -std=$std "${warn[@]}" -Iinclude -c "$tmp/h.cpp" -o "$tmp/h.o" ||
      fail "include/codelay.h does not compile alone with $cxx -std=$std"
    headers=$((headers + 1))
  done
done

# 4. Layouts, enum values, prototypes, runtime version.
LD_LIBRARY_PATH="$BUILD/codelay" "$BUILD/abi_check" "$STORED" || fail "abi_check"

if [ "$failures" -ne 0 ]; then
  echo "test-abi: FAIL ($failures problem(s))"
  exit 1
fi
echo "test-abi: PASS ($nsym exported symbols, SONAME $soname, version $version, header alone in $headers language modes, layouts match $STORED)"
