// The package boundaries, enforced by `npm run lint` (part of `npm test`). docs/ARCHITECTURE.md
// says why each arrow is forbidden.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-stays-neutral',
      comment: 'packages/core is platform-neutral: no tfjs, no DOM or Node built-ins, no socket library, no other package of ours',
      severity: 'error',
      from: { path: '^packages/core/' },
      to: { path: ['node_modules/@tensorflow/', 'node_modules/socket\\.io', 'node_modules/react', '^packages/(?!core/)', '^apps/'] },
    },
    {
      name: 'core-no-node-builtins',
      comment: 'packages/core runs in browsers and workers as well as Node: no node:* built-in, tests included',
      severity: 'error',
      from: { path: '^packages/core/' },
      to: { dependencyTypes: ['core'] },
    },
    { name: 'client-not-server', severity: 'error', from: { path: '^packages/client/' }, to: { path: '^packages/server/' } },
    { name: 'diffusion-not-runtime', severity: 'error', from: { path: '^packages/diffusion/' }, to: { path: '^packages/(client|server)/' } },
    { name: 'datasets-data-only', severity: 'error', from: { path: '^packages/datasets/' }, to: { path: '^packages/(client|server|diffusion)/' } },
    { name: 'secagg-stays-neutral', comment: 'packages/secagg runs in browsers and Node on WebCrypto and the platform-neutral core alone: no node:* built-in, no other package of ours', severity: 'error', from: { path: '^packages/secagg/' }, to: { path: '^(node:|packages/(?!secagg/|core/))', pathNot: 'node_modules/vitest' } },
    { name: 'web-not-server', comment: 'the web app speaks to the server over HTTP and Socket.IO; shared shapes live in packages/core', severity: 'error', from: { path: '^apps/web/' }, to: { path: '^packages/server/' } },
    { name: 'packages-not-apps', severity: 'error', from: { path: '^packages/' }, to: { path: '^apps/' } },
    { name: 'no-cycles', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'workspace-imports-resolve',
      comment: 'an @fedbit/* import that does not resolve to packages/*/src would slip past every rule above',
      severity: 'error',
      from: {},
      to: { path: '^@fedbit/', couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // build outputs and run data, at the root or inside a workspace (anchored so that
    // node_modules/<pkg>/dist stays in the graph for the rules above to see)
    exclude: { path: ['^(dist|\\.cache|runs|results|test-artifacts)/', '^(packages|apps)/[^/]+/(dist|\\.cache|runs)/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    preserveSymlinks: false,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.json'] },
  },
};
