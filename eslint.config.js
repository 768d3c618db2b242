// ESLint for Hypercube, run by `npm run lint` (part of `npm test`). Layering (who may import
// whom, no cycles) is dependency-cruiser's job (.dependency-cruiser.cjs); this file checks
// the code inside each module.
//
// typescript-eslint's `recommended` set, not `recommendedTypeChecked`: the type-aware set
// builds a TypeScript program for both tsconfigs and measured ~93 s of CPU for this tree on
// the 2-core machine against ~20 s for this one, which would break the minute that lint and
// the layer check have together in `npm test`. What the type-aware rules add beyond `tsc`
// (no-unsafe-*, no-floating-promises) is worth an occasional audit, not every test run.
import js from '@eslint/js'
import reactHooks from 'eslint-plugin-react-hooks'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  {
    ignores: ['node_modules/', 'out/', 'dist/', 'build/', 'native/', 'test-results/', '.hypercube-test/', '.scratch/'],
  },
  // Report `// eslint-disable` comments that no longer suppress anything, so they cannot
  // outlive the code they excused.
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // `const { logs: _logs, ...row } = run` is how this code drops fields from an object;
      // the named siblings of a rest element are there to be left out, not forgotten.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
    },
  },
  {
    // The two classic hook rules only. The plugin's React Compiler rules (its v7
    // `recommended`) assume code written for the compiler, which this renderer does not use.
    files: ['src/renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: globals.browser },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
    },
  },
  {
    files: ['src/main/**', 'src/preload/**', 'src/client/**', 'bench/**', 'scripts/**', 'test/**', 'bin/**', '*.{js,ts}'],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
  },
)
