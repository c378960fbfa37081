/// <reference types="vitest/config" />
import { defineConfig, type HtmlTagDescriptor, type Plugin, type Rollup } from 'vite';
import react from '@vitejs/plugin-react';

/**
 * Names in index.html the fonts every page draws its text with, so the
 * browser fetches them with the first requests rather than once the
 * stylesheets are applied and the text is laid out (which would lay it out
 * again when they arrive).
 */
function preloadFonts(fonts: string[]): Plugin {
  return {
    name: 'stockade-preload-fonts',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(_html, ctx) {
        if (!ctx.bundle) return;
        const assets = Object.values(ctx.bundle).filter((a): a is Rollup.OutputAsset => a.type === 'asset');
        return fonts.map((font): HtmlTagDescriptor => {
          const asset = assets.find((a) => a.names.includes(font));
          if (!asset) throw new Error(`preload: no font ${font} in the build`);
          return {
            tag: 'link',
            attrs: { rel: 'preload', as: 'font', type: 'font/woff2', crossorigin: true, href: `/${asset.fileName}` },
            injectTo: 'head',
          };
        });
      },
    },
  };
}

// The dashboard is built into dist/, which Central embeds (ui/embed.go) and
// serves with a strict Content-Security-Policy: the build must not inline
// any script. `npm run dev` serves it with hot reload and sends API calls
// to a Central on https://127.0.0.1:8443 (make run), or STOCKADE_CENTRAL.
const central = process.env.STOCKADE_CENTRAL ?? 'https://127.0.0.1:8443';

export default defineConfig({
  plugins: [react(), preloadFonts(['RedHatTextVF.woff2', 'RedHatDisplayVF.woff2'])],
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
