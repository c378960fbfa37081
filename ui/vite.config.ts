/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The dashboard is built into dist/, which Central embeds (ui/embed.go) and
// serves with a strict Content-Security-Policy: the build must not inline
// any script. `npm run dev` serves it with hot reload and sends API calls
// to a Central on https://127.0.0.1:8443 (make run), or STOCKADE_CENTRAL.
const central = process.env.STOCKADE_CENTRAL ?? 'https://127.0.0.1:8443';

export default defineConfig({
  plugins: [react()],
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Assets are hashed and served from /assets/ with a one-year cache.
    assetsDir: 'assets',
    // Inlined assets would be data: URIs; fonts and images stay files.
    assetsInlineLimit: 0,
    sourcemap: false,
    chunkSizeWarningLimit: 2048,
  },
  server: {
    proxy: {
      '/v1': { target: central, secure: false, changeOrigin: false },
    },
  },
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
    environment: 'node',
  },
});
