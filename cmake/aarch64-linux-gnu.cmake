# Cross toolchain for aarch64 Linux (Debian's gcc-aarch64-linux-gnu), tests run under qemu-user.
#   cmake -S . -B build/aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
# Check for arm64 comes from Debian multiarch (check:arm64, in /usr/lib/aarch64-linux-gnu); the
# cross gcc searches /usr/include after its own headers, which is where check.h lives.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
find_program(CODELAY_AARCH64_CXX aarch64-linux-gnu-g++)
if(CODELAY_AARCH64_CXX)
  set(CMAKE_CXX_COMPILER ${CODELAY_AARCH64_CXX})
endif()

# Host programs (pkg-config, python) from the host; libraries and headers of the target only
# from the multiarch directories the cross compiler and CMAKE_LIBRARY_ARCHITECTURE point at.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# pkg-config must see the arm64 .pc files only, never the host's.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# CTest prefixes every test executable with this. -L makes qemu load the cross libc, and -E
# LD_LIBRARY_PATH keeps its libraries first for the child processes too: without it, with
# libc6:arm64 also installed, Check's fork()ed test processes hang. cortex-a72 is a plain
# ARMv8.0 core with NEON (no SVE), the baseline codelay targets.
set(CMAKE_CROSSCOMPILING_EMULATOR
    qemu-aarch64;-cpu;cortex-a72;-L;/usr/aarch64-linux-gnu;-E;LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib)
