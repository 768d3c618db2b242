// Hypercube's layering, checked in `npm test` (`npm run check:layers`). It encodes
// STYLE.md points 1 (what each process may import), 4 (services know nothing of IPC or
// HTTP), 6 (only the database module imports pg) and "no import cycles", as VS Code's
// code-layering rules do for its own tree. README.md's "Architecture" section describes
// the layers. A new exception needs a reason here, next to the rule it bends.
//
// Type-only imports: with `tsPreCompilationDeps: true` (below) dependency-cruiser reads
// the TypeScript source before compilation, so `import type { X }` and
// `import { type X }` are edges too (dependency type "type-only"). Every rule here,
// including no-circular, applies to them: a type-only import still couples the layers
// (a shared type that names a main-only type drags main's shape into the renderer), and
// a type-only cycle is still a cycle in the design.

/** Every kind of npm dependency dependency-cruiser distinguishes. */
const NPM = ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-bundled', 'npm-no-pkg', 'npm-unknown']

// Paths to packages are matched as `(^|/)node_modules/<name>/` so the rules hold when
// node_modules is a symlink or hoisted above the project (it resolves to a real path).

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'A cycle means two modules cannot be understood, tested or loaded one without the ' +
        'other, and in ESM it can hand a module an uninitialised binding at start-up. ' +
        'Type-only cycles count too (see the note at the top).',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment:
        'An import dependency-cruiser cannot resolve is an edge no rule below can see; ' +
        'failing on it keeps the checker honest (tsc catches real typos first).',
      from: { pathNot: '^src/main/db/embedded-postgres\\.ts$' },
      to: { couldNotResolve: true },
    },
    {
      name: 'not-to-unresolvable-except-optional-postgres-binaries',
      severity: 'error',
      comment:
        'embedded-postgres.ts imports each @embedded-postgres/<platform> package behind a ' +
        'platform check; only the current platform\'s is installed, so only those may be ' +
        'unresolvable.',
      from: { path: '^src/main/db/embedded-postgres\\.ts$' },
      to: { couldNotResolve: true, pathNot: '^@embedded-postgres/' },
    },

    // ---- src/shared: pure TypeScript, used by every process -------------------------
    {
      name: 'shared-imports-no-process-code',
      severity: 'error',
      comment:
        'src/shared is loaded by main, preload and renderer alike; importing any of them ' +
        'would pull one process\'s code (and its runtime) into the others (STYLE 1).',
      from: { path: '^src/shared/' },
      to: { path: '^src/(main|renderer|preload|client)/' },
    },
    {
      name: 'shared-no-node-builtins',
      severity: 'error',
      comment:
        'src/shared must run unchanged in Node, in Electron\'s sandboxed preload and in a ' +
        'browser (STYLE 1): no node: built-ins. (DOM globals are kept out by the compiler: ' +
        'tsconfig.node.json type-checks src/shared without the DOM lib.)',
      from: { path: '^src/shared/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'shared-npm-only-zod',
      severity: 'error',
      comment:
        'No electron, no DOM/UI packages (react, zustand, uplot, @tanstack) in src/shared ' +
        '(STYLE 1): the only npm package it needs is zod. An allow-list rather than a ' +
        'deny-list, so a new dependency of shared is a decision made here, with a reason.',
      from: { path: '^src/shared/' },
      to: {
        dependencyTypes: NPM,
        pathNot: '(^|/)node_modules/zod/',
      },
    },

    // ---- src/renderer: the page ------------------------------------------------------
    {
      name: 'renderer-imports-only-shared',
      severity: 'error',
      comment:
        'The renderer talks to main only through the contract (window.hypercube or the ' +
        'serve transport), so of the source tree it may import src/shared and itself ' +
        '(STYLE 1, 2). Importing main or preload code would bundle Node code into the page.',
      from: { path: '^src/renderer/' },
      to: { path: '^src/', pathNot: '^src/(renderer|shared)/' },
    },
    {
      name: 'renderer-no-node-builtins',
      severity: 'error',
      comment:
        'The page runs sandboxed with no Node integration; node: built-ins and electron do ' +
        'not exist there (and in serve mode it is a plain browser).',
      from: { path: '^src/renderer/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'renderer-no-electron',
      severity: 'error',
      comment: 'See renderer-no-node-builtins: electron is main/preload only.',
      from: { path: '^src/renderer/' },
      to: { path: '(^|/)node_modules/electron/' },
    },

    // ---- src/preload: the thin bridge ------------------------------------------------
    {
      name: 'preload-imports-only-shared',
      severity: 'error',
      comment:
        'The preload builds the API object from the contract and nothing else (STYLE 3); ' +
        'it runs sandboxed, so importing main would not even load.',
      from: { path: '^src/preload/' },
      to: { path: '^src/', pathNot: '^src/(preload|shared)/' },
    },
    {
      name: 'preload-npm-only-electron',
      severity: 'error',
      comment:
        'A sandboxed preload can require only electron\'s renderer-side API (and a few ' +
        'polyfills we do not use); no node: built-ins, no other packages.',
      from: { path: '^src/preload/' },
      to: {
        dependencyTypes: ['core', ...NPM],
        pathNot: '(^|/)node_modules/electron/',
      },
    },

    // ---- src/client: the /v1 client ---------------------------------------------------
    {
      name: 'client-imports-only-shared',
      severity: 'error',
      comment:
        'The /v1 client talks HTTP to a running core; importing main would make it ' +
        'depend on the server it is supposed to test from the outside.',
      from: { path: '^src/client/' },
      to: { path: '^src/', pathNot: '^src/(client|shared)/' },
    },

    // ---- src/main: the core --------------------------------------------------------
    {
      name: 'main-imports-no-renderer-or-preload',
      severity: 'error',
      comment:
        'main reaches the page only through the contract; serve-ui serves the built ' +
        'renderer from out/, it does not import its source.',
      from: { path: '^src/main/' },
      to: { path: '^src/(renderer|preload)/' },
    },
    {
      name: 'only-electron-shell-imports-electron',
      severity: 'error',
      comment:
        'The core also runs under plain Node (`hypercube serve`, tests, benchmarks), where ' +
        'electron is not loadable; only the thin shell (index.ts) and its utilityProcess ' +
        'spawner (electron/) may import it.',
      from: { path: '^src/main/', pathNot: '^src/main/(index\\.ts$|electron/)' },
      to: { path: '(^|/)node_modules/electron/' },
    },
    {
      name: 'repositories-not-to-services-or-http',
      severity: 'error',
      comment:
        'Repositories are the layer below services: SQL in, domain types out. Importing a ' +
        'service (or a door) would invert the layering and invite cycles.',
      from: { path: '^src/main/repositories/' },
      to: { path: '^src/main/(services|http)/' },
    },
    {
      name: 'services-not-to-doors-or-composition-root',
      severity: 'error',
      comment:
        'Services know nothing of IPC or HTTP (STYLE 4, 12): HTTP routes and IPC handlers ' +
        'are thin doors that call services, never the other way round. The composition ' +
        'roots (core.ts, compose-door.ts) and the entry points (index.ts, cli.ts, the API ' +
        'process in api/) build services; a service importing them would be a cycle by design.',
      from: { path: '^src/main/services/' },
      to: {
        path: '^src/main/(http/|api/|core\\.ts$|compose-door\\.ts$|contract-handlers\\.ts$|index\\.ts$|cli\\.ts$)',
      },
    },
    {
      name: 'services-and-repositories-no-fastify',
      severity: 'error',
      comment: 'See services-not-to-doors-or-composition-root: fastify belongs to http/.',
      from: { path: '^src/main/(services|repositories)/' },
      to: { path: '(^|/)node_modules/(fastify|@fastify)/' },
    },
    {
      name: 'routes-not-to-composition-root',
      severity: 'error',
      comment:
        'The HTTP doors receive the services they need (CoreServices, ' +
        'services/core-services.ts); importing a composition root (core.ts, compose-door.ts) ' +
        'or an entry point would tie every route to the whole start-up sequence and make a ' +
        'cycle (those start the server).',
      from: { path: '^src/main/http/' },
      to: { path: '^src/main/(core|compose-door|index|cli)\\.ts$' },
    },
    {
      name: 'only-db-imports-pg',
      severity: 'error',
      comment:
        'Only the database module talks to the driver (STYLE 6): repositories take a ' +
        'Queryable and get domain types out, so pooling, transactions and COPY live in one ' +
        'place. Tests are outside src and may use pg to inspect the database directly.',
      from: { path: '^src/', pathNot: '^src/main/db/' },
      to: { path: '(^|/)node_modules/(pg|pg-copy-streams)/' },
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules'] },
    // See the note at the top: type-only imports are edges too.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.node.json' },
  },
}
