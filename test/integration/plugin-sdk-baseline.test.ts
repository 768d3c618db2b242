import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { BUNDLED_PLUGINS_DIR, PLUGIN_SDK_INCLUDE, REPO_ROOT } from '../../src/main/plugins/plugin-build'

// The default plugin build must run on any x86-64 CPU: no -march for the whole file, and faster
// code only in clones the loader picks by CPU. And the SDK's dispatch guard must choose the
// runtime CPU check on musl, whose loader cannot resolve target_clones' ifuncs.
const x64Linux = process.arch === 'x64' && process.platform === 'linux'
const PLUGINS = ['euclidean', 'cosine', 'manhattan']

function which(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`]).status === 0
}

// Instructions beyond the x86-64 baseline (SSE2): SSE3, SSSE3, SSE4.1/4.2, POPCNT, LZCNT, BMI,
// MOVBE, and every VEX-encoded (AVX) instruction. Only the CPU-specific clones may hold them.
const BEYOND_BASELINE = new Set(
  (
    'haddpd haddps hsubpd hsubps addsubpd addsubps movddup movshdup movsldup lddqu ' +
    'pshufb palignr phaddw phaddd phsubw phsubd pabsb pabsw pabsd pmulhrsw pmaddubsw psignb psignw psignd ' +
    'roundsd roundss roundpd roundps ptest pblendvb blendvpd blendvps blendpd blendps insertps extractps dppd dpps ' +
    'pmulld pminsd pmaxsd pminud pmaxud pminsb pmaxsb pminuw pmaxuw pcmpeqq pcmpgtq packusdw mpsadbw phminposuw ' +
    'pextrb pextrd pextrq pinsrb pinsrd pinsrq pmovzxbw pmovzxbd pmovzxbq pmovzxwd pmovzxwq pmovzxdq pmovsxbw pmovsxbd pmovsxbq pmovsxwd pmovsxwq pmovsxdq movntdqa ' +
    'pcmpestri pcmpestrm pcmpistri pcmpistrm crc32 popcnt lzcnt tzcnt andn bextr blsi blsmsk blsr bzhi shlx shrx sarx rorx pdep pext mulx movbe'
  ).split(' ')
)

/** Per function of a binary (demangled name → mnemonics), from objdump. */
function disassemble(binary: string): Map<string, string[]> {
  const text = execFileSync('objdump', ['-d', '-C', '--no-show-raw-insn', binary], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 })
  const functions = new Map<string, string[]>()
  let current: string[] | undefined
  for (const line of text.split('\n')) {
    const header = /^[0-9a-f]+ <(.+)>:$/.exec(line)
    if (header) {
      current = []
      functions.set(header[1], current)
      continue
    }
    const instruction = /^\s+[0-9a-f]+:\s+([a-z][a-z0-9]*)/.exec(line)
    if (instruction && current) current.push(instruction[1])
  }
  return functions
}

function isBeyondBaseline(mnemonic: string): boolean {
  // VEX/EVEX-encoded SIMD (vmovapd, vfmadd231pd, vzeroupper, …); no baseline mnemonic starts with 'v' but verr/verw.
  if (mnemonic.startsWith('v') && mnemonic !== 'verr' && mnemonic !== 'verw') return true
  return BEYOND_BASELINE.has(mnemonic)
}

describe.runIf(x64Linux)('plugin SDK baseline: the default build runs on any x86-64 CPU', () => {
  it('sets no -march for the whole plugin, in the bundled plugins and in the plugin:new template', () => {
    for (const plugin of PLUGINS) expect(readFileSync(join(BUNDLED_PLUGINS_DIR, plugin, 'binding.gyp'), 'utf8'), plugin).not.toMatch(/-march/)
    expect(readFileSync(join(REPO_ROOT, 'src', 'main', 'plugins', 'scaffold.ts'), 'utf8')).not.toMatch(/-march/)
  })

  it('keeps AVX2 and x86-64-v2 code in the clones only; everything else is baseline x86-64', () => {
    for (const plugin of PLUGINS) {
      const functions = disassemble(join(BUNDLED_PLUGINS_DIR, plugin, 'build', 'Release', `${plugin}.node`))
      const names = [...functions.keys()]
      expect(names.some((name) => name.includes('DistancesLoop') && name.endsWith('[clone .avx2]')), plugin).toBe(true)
      expect(names.some((name) => name.includes('DistancesLoop') && name.endsWith('[clone .arch_x86_64_v2]')), plugin).toBe(true)
      expect(names.some((name) => name.includes('DistancesLoop') && name.endsWith('[clone .default]')), plugin).toBe(true)
      const offenders: string[] = []
      for (const [name, mnemonics] of functions) {
        if (name.endsWith('[clone .avx2]') || name.endsWith('[clone .arch_x86_64_v2]')) continue
        const beyond = [...new Set(mnemonics.filter(isBeyondBaseline))]
        if (beyond.length > 0) offenders.push(`${name}: ${beyond.join(', ')}`)
      }
      expect(offenders, plugin).toEqual([])
    }
  })
})

// Debian's musl-tools gives musl-gcc, a C compiler for musl; it has no C++ standard library
// (no <cmath>, no <vector>), so the C++ SDK itself cannot be built with it. The dispatch guard
// is plain C preprocessor (hypercube_dispatch.h), so its choice is compiled and run under musl.
const muslGcc = x64Linux && which('musl-gcc')
const muslSkipReason = muslGcc ? '' : ' — skipped: musl-gcc not installed (apt-get install musl-tools)'
if (x64Linux && !muslGcc) console.warn(`musl dispatch checks skipped: musl-gcc is not installed (apt-get install musl-tools)`)

const PROBE = `#include <stdio.h>
#include "hypercube_dispatch.h"

static double sum_squares_baseline(const double* a, int n) { double s = 0; for (int i = 0; i < n; i++) s += a[i] * a[i]; return s; }
#if defined(HYPERCUBE_DISPATCH_RUNTIME)
__attribute__((target("avx2"))) static double sum_squares_avx2(const double* a, int n) { double s = 0; for (int i = 0; i < n; i++) s += a[i] * a[i]; return s; }
static double sum_squares(const double* a, int n) { return __builtin_cpu_supports("avx2") ? sum_squares_avx2(a, n) : sum_squares_baseline(a, n); }
#elif defined(HYPERCUBE_DISPATCH_IFUNC)
HYPERCUBE_TARGET_CLONES static double sum_squares(const double* a, int n) { double s = 0; for (int i = 0; i < n; i++) s += a[i] * a[i]; return s; }
#else
static double sum_squares(const double* a, int n) { return sum_squares_baseline(a, n); }
#endif

int main(void) {
  double a[1000];
  for (int i = 0; i < 1000; i++) a[i] = i * 0.5;
  printf("%s %.1f %.1f\\n", HYPERCUBE_DISPATCH_MODE, sum_squares(a, 1000), sum_squares_baseline(a, 1000));
  return 0;
}
`

describe.runIf(x64Linux)(`plugin SDK dispatch guard under musl-gcc${muslSkipReason}`, () => {
  const work = mkdtempSync(join(tmpdir(), 'hypercube-musl-'))
  afterAll(() => rmSync(work, { recursive: true, force: true }))

  function buildAndRun(compiler: string, source: string, name: string): { status: number | null; stdout: string; stderr: string } {
    const file = join(work, `${name}.c`)
    writeFileSync(file, source)
    execFileSync(compiler, ['-O2', `-I${PLUGIN_SDK_INCLUDE}`, file, '-o', join(work, name)], { stdio: 'pipe' })
    const run = spawnSync(join(work, name), { encoding: 'utf8' })
    return { status: run.status, stdout: run.stdout, stderr: run.stderr }
  }

  it.skipIf(!muslGcc)('chooses the runtime CPU check on musl, and it runs and agrees with the baseline', () => {
    const run = buildAndRun('musl-gcc', PROBE, 'probe-musl')
    expect(run.status, run.stderr).toBe(0)
    const [mode, picked, baseline] = run.stdout.trim().split(' ')
    expect(mode).toBe('runtime')
    expect(picked).toBe(baseline)
  })

  it.skipIf(!which('gcc'))('chooses target_clones on glibc, and it runs and agrees with the baseline', () => {
    const run = buildAndRun('gcc', PROBE, 'probe-glibc')
    expect(run.status, run.stderr).toBe(0)
    const [mode, picked, baseline] = run.stdout.trim().split(' ')
    expect(mode).toBe('ifunc')
    expect(picked).toBe(baseline)
  })

  it.skipIf(!muslGcc)('would fail on musl with target_clones: its loader refuses the ifunc (why the guard exists)', () => {
    const forced = PROBE.replace('#include "hypercube_dispatch.h"', '#include "hypercube_dispatch.h"\n#undef HYPERCUBE_DISPATCH_RUNTIME\n#define HYPERCUBE_DISPATCH_IFUNC 1\n#define HYPERCUBE_TARGET_CLONES __attribute__((target_clones("avx2", "default")))')
    const run = buildAndRun('musl-gcc', forced, 'probe-musl-ifunc')
    expect(run.status).not.toBe(0)
    expect(run.stderr).toMatch(/unsupported relocation/)
  })

  it.skipIf(!muslGcc)('has no C++ standard library in Debian\'s musl-tools, so the C++ SDK cannot be built with it', () => {
    const file = join(work, 'cxx.cc')
    writeFileSync(file, '#include <cmath>\nint main() { return static_cast<int>(std::sqrt(1.0)) - 1; }\n')
    const compile = spawnSync('musl-gcc', ['-x', 'c++', file, '-o', join(work, 'cxx')], { encoding: 'utf8' })
    expect(compile.status).not.toBe(0)
    expect(compile.stderr).toMatch(/cmath: No such file or directory/)
  })
})
