// Builds apps/web (device page at /, operator dashboard at /dashboard) into dist/web, which the
// aggregator serves. `vite` (dev) proxies the API and Socket.IO to an aggregator on FEDBIT_SERVER.
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const repo = fileURLToPath(new URL('.', import.meta.url));
const aggregator = process.env.FEDBIT_SERVER ?? 'http://localhost:8099';

export default defineConfig({
  root: `${repo}apps/web`,
  publicDir: `${repo}public`,
  plugins: [react()],
  worker: { format: 'es' },
  build: {
    outDir: `${repo}dist/web`,
    emptyOutDir: true,
    target: 'es2022',
    // The worker carries tfjs (about 1 MB before gzip); that is expected and loads off the main thread.
    chunkSizeWarningLimit: 2048,
  },
  server: {
    proxy: {
      '/api': aggregator,
      '/data': aggregator,
      '/tfjs-wasm': aggregator,
      '/socket.io': { target: aggregator, ws: true },
    },
  },
});
