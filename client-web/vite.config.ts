import { defineConfig } from 'vitest/config';

// The server to proxy to in `npm run dev` (start one with `townhall serve`).
const target = process.env.TOWNHALL_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  // JSX is compiled by Vite's built-in transform with Preact's runtime
  // (tsconfig: jsx react-jsx, jsxImportSource preact): no Babel preset needed.
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // No source maps: the release binary embeds dist/, and a map would
    // publish the client's source (the server also excludes *.map).
    sourcemap: false,
  },
  server: {
    proxy: {
      '/api': { target, changeOrigin: false },
      '/ws': { target: target.replace(/^http/, 'ws'), ws: true, changeOrigin: false },
    },
  },
  test: {
    environment: 'happy-dom',
    include: ['test/**/*.test.{ts,tsx}'],
  },
});
