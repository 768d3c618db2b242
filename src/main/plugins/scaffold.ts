// plugin:new — a new plugin folder that builds and passes plugin:check as it is: a Chebyshev
// (L∞) distance, a true metric, written against the SDK so the author replaces one kernel.
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { PLUGIN_API_VERSION } from '../../shared/plugins'

export const PLUGIN_NAME_PATTERN = /^[a-z][a-z0-9-]{0,63}$/

function bindingGyp(name: string): string {
  const target = name.replace(/-/g, '_')
  return `{
  "targets": [
    {
      "target_name": "${target}",
      "sources": ["src/${target}.cc"],
      # Built by \`npm run plugin:dev\` / \`plugin:check\` (scripts/build-plugins.ts), which point
      # these at Hypercube's SDK and node-addon-api.
      "include_dirs": [
        "<!(node -p \\"process.env.HYPERCUBE_NODE_ADDON_API_INCLUDE || require('node-addon-api').include_dir\\")",
        "<!(node -p \\"process.env.HYPERCUBE_PLUGIN_SDK_INCLUDE || '../sdk/include'\\")"
      ],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-fexceptions", "-O3", "-fno-math-errno", "-fvisibility=hidden"],
      "ldflags": ["-Wl,-rpath,'$$ORIGIN'"],
      "conditions": [
        ["OS=='mac'", {
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "GCC_SYMBOLS_PRIVATE_EXTERN": "YES",
            "GCC_OPTIMIZATION_LEVEL": "3",
            "OTHER_LDFLAGS": ["-Wl,-rpath,@loader_path"]
          }
        }],
        ["OS=='win'", { "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1, "Optimization": 2 } } }]
      ]
    }
  ]
}
`
}

function kernelSource(name: string): string {
  return `// ${name}: a Hypercube geometric plugin.
//
// The SDK (hypercube_plugin.h) provides identity, distance, distances and knn, argument
// checks and the NaN/Inf rule; this file only defines the distance kernel. The template
// computes the Chebyshev (L-infinity) distance max_i |a_i - b_i|, a true metric: replace it
// with yours, set isMetric honestly, and run \`npm run plugin:check <this folder>\`.
#include <hypercube_plugin.h>

struct Kernel {
  template <typename A, typename B>
  static inline double Distance(const A* a, const B* b, size_t dim) {
    double result = 0;
    for (size_t i = 0; i < dim; i++) {
      double d = std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
      // Written so that NaN propagates (std::fmax would drop it).
      result = (d > result || d != d) ? d : result;
    }
    return result;
  }

  // The 4-D case is the common one (hypercube coordinates): a specialised path lets the
  // compiler keep everything in registers.
  template <typename A, typename B>
  static inline double Distance4(const A* a, const B* b) {
    return Distance(a, b, 4);
  }
};

//                         kernel  name        version   isMetric
HYPERCUBE_GEOMETRIC_PLUGIN(Kernel, "${name}", "0.1.0", true)
`
}

export interface ScaffoldResult {
  dir: string
  files: string[]
}

/** Creates `<parentDir>/<name>` with plugin.json, binding.gyp, src/<name>.cc and .gitignore. */
export async function scaffoldPlugin(name: string, parentDir: string): Promise<ScaffoldResult> {
  if (!PLUGIN_NAME_PATTERN.test(name)) {
    throw new Error(`plugin name '${name}' must be lowercase letters, digits and dashes, starting with a letter`)
  }
  const dir = resolve(parentDir, name)
  if (existsSync(dir)) throw new Error(`${dir} already exists`)
  const target = name.replace(/-/g, '_')
  const manifest = {
    name,
    version: '0.1.0',
    description: `${name} distance`,
    kind: 'geometric_operation',
    pluginApiVersion: PLUGIN_API_VERSION,
    napiVersion: 8,
    settings: {},
    binaries: {}
  }
  const files: Record<string, string> = {
    'plugin.json': `${JSON.stringify(manifest, null, 2)}\n`,
    'binding.gyp': bindingGyp(name),
    [`src/${target}.cc`]: kernelSource(name),
    '.gitignore': 'build/\n'
  }
  await mkdir(join(dir, 'src'), { recursive: true })
  for (const [file, content] of Object.entries(files)) await writeFile(join(dir, file), content)
  return { dir, files: Object.keys(files) }
}

/** Bumps the version in plugin.json and in the kernel's HYPERCUBE_GEOMETRIC_PLUGIN line (tests, demos). */
export async function setScaffoldVersion(dir: string, version: string): Promise<void> {
  const manifestFile = join(dir, 'plugin.json')
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as { name: string; version: string }
  const previous = manifest.version
  manifest.version = version
  await writeFile(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`)
  const source = join(dir, 'src', `${manifest.name.replace(/-/g, '_')}.cc`)
  const text = await readFile(source, 'utf8')
  await writeFile(source, text.replace(`"${manifest.name}", "${previous}"`, `"${manifest.name}", "${version}"`))
}
