// ESLint for Hypercube, run by `npm run lint` (part of `npm test`). Layering (who may import
// whom, no cycles) is dependency-cruiser's job (.dependency-cruiser.cjs); this file checks
// the code inside each module.
import js from '@eslint/js'
import reactHooks from 'eslint-plugin-react-hooks'
import globals from 'globals'
import tseslint from 'typescript-eslint'

const TYPE_AWARE = process.env.HYPERCUBE_LINT_TYPED === '1'

export default tseslint.config(
  {
    ignores: ['node_modules/', 'out/', 'dist/', 'build/', 'native/', 'test-results/', '.hypercube-test/', '.scratch/'],
  },
  // Report `// eslint-disable` comments that no longer suppress anything, so they cannot
  // outlive the code they excused.
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  ...(TYPE_AWARE ? tseslint.configs.recommendedTypeChecked : tseslint.configs.recommended),
  ...(TYPE_AWARE
    ? [{ languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } } }]
    : []),
  {
    files: ['src/renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: globals.browser },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
    },
  },
  {
    rules: {
      // `const { logs: _logs, ...row } = run` is how this code drops fields from an object;
      // the named siblings of a rest element are there to be left out, not forgotten.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
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
