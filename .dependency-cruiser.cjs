/**
 * The layering of src/ (checked in CI by `npm run lint:deps`): imports run downwards only,
 *   cli -> demo -> server -> protocols (dcrf, graphql) -> resources -> serializers, models, db;
 *   events sit beside resources (models publish through them); shared leaf modules (errors, scope,
 *   permissions, logger, auth, runtime, limits, text-frames) may be imported from anywhere below the protocols.
 * No cycles; the demo is imported by nothing under src/ but the CLI.
 */
const layer = (name) => `^src/${name}(/|\\.ts$)`;

module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', from: { path: '^src/' }, to: { circular: true } },
    {
      name: 'demo-only-from-cli',
      comment: 'The library must not load the demo (no side effects at import).',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/demo/', '^src/cli\\.ts$'] },
      to: { path: '^src/demo/' },
    },
    {
      name: 'protocols-not-up',
      comment: 'DCRF and GraphQL never import the server layer, the CLI or the demo.',
      severity: 'error',
      from: { path: [layer('dcrf'), layer('graphql')] },
      to: { path: [layer('server'), layer('cli'), layer('demo')] },
    },
    {
      name: 'protocols-apart',
      comment: 'DCRF and GraphQL do not import each other; what both need lives below them.',
      severity: 'error',
      from: { path: layer('dcrf') },
      to: { path: layer('graphql') },
    },
    {
      name: 'graphql-not-dcrf',
      severity: 'error',
      from: { path: layer('graphql') },
      to: { path: layer('dcrf') },
    },
    {
      name: 'resources-not-up',
      comment: 'The shared resolver layer knows no protocol and no server.',
      severity: 'error',
      from: { path: layer('resources') },
      to: { path: [layer('server'), layer('dcrf'), layer('graphql'), layer('cli'), layer('demo')] },
    },
    {
      name: 'lower-layers-not-up',
      comment: 'Serializers, models, db and events never import resources, protocols or the server.',
      severity: 'error',
      from: { path: [layer('serializers'), layer('models'), layer('db'), layer('events')] },
      to: { path: [layer('resources'), layer('server'), layer('dcrf'), layer('graphql'), layer('cli'), layer('demo')] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
