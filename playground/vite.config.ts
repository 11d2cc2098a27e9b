/**
 * Builds the playground into playground/dist, served by the gateway under /playground/.
 * Everything (React, GraphiQL, Monaco and its workers) is bundled: nothing is fetched at run time.
 */
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/playground/',
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Monaco is large by nature; the GraphQL tab loads it on first open, not with the console.
    chunkSizeWarningLimit: 6000,
    reportCompressedSize: false,
    rolldownOptions: {
      // GraphiQL's dependencies carry React Server Components' "use client" markers, meaningless here.
      onwarn(warning, warn) {
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
  worker: { format: 'es' },
});
