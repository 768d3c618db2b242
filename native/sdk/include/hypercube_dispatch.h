/* Hypercube plugin SDK: how the hot loop picks its instruction set. Plain C preprocessor, so a
 * C compiler (musl-gcc, which has no C++ library) can check the choice too
 * (test/integration/plugin-sdk-baseline.test.ts).
 *
 * The default build runs on any x86-64 CPU (no -march flag: the baseline is x86-64 itself);
 * faster copies of the loop are extra clones that only run where the CPU has them:
 * - GCC on glibc Linux: target_clones — AVX2, x86-64-v2 (SSE4.2, POPCNT) and the baseline —
 *   and glibc's loader picks the copy once (an ifunc). Only glibc resolves ifuncs: a musl
 *   loader refuses the library ("unsupported relocation type 37", R_X86_64_IRELATIVE), GCC
 *   configured for musl (Alpine) rejects the attribute, and macOS and Windows have no ifuncs.
 * - Elsewhere with GCC or Clang on x86-64 (musl, macOS, MinGW): two copies made by hand, one
 *   with target("avx2"), and a CPU check made once picks one (HYPERCUBE_FORCE_RUNTIME_DISPATCH
 *   selects this way on glibc too, to test it).
 * - Otherwise (MSVC, arm64, other CPUs): one copy. On arm64 that copy already uses NEON, which
 *   every AArch64 CPU has: -O3 vectorizes the loop with it, no flag or check needed.
 */
#ifndef HYPERCUBE_DISPATCH_H
#define HYPERCUBE_DISPATCH_H

/* A libc header first: glibc's <features.h> (pulled in by it) is what defines __GLIBC__. */
#include <stdlib.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__) && defined(__GLIBC__) && \
    !defined(HYPERCUBE_FORCE_RUNTIME_DISPATCH)
#define HYPERCUBE_DISPATCH_IFUNC 1
#define HYPERCUBE_DISPATCH_MODE "ifunc"
#define HYPERCUBE_TARGET_CLONES __attribute__((target_clones("avx2", "arch=x86-64-v2", "default")))
#elif defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HYPERCUBE_DISPATCH_RUNTIME 1
#define HYPERCUBE_DISPATCH_MODE "runtime"
#else
#define HYPERCUBE_DISPATCH_MODE "single"
#endif

#endif /* HYPERCUBE_DISPATCH_H */
