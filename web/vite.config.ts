// Vite: one project, four HTML entries (a landing page and the three apps), one shared client.
/// <reference types="vitest/config" />
import { resolve } from 'node:path'
import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'

// `npm run dev` serves the apps with hot reload; API, sign-in and MQTT go to a running `serverlesspresso up`.
const backend = process.env.SERVERLESSPRESSO_URL ?? 'http://127.0.0.1:8000'

// WEB_PAGES=order,display builds only those pages (handy while one app is being worked on).
const pages = (process.env.WEB_PAGES ?? 'index,order,barista,display').split(',')

export default defineConfig({
  // Whitespace between elements is kept, so an element's text reads "#12 Latte", not "#12Latte".
  plugins: [vue({ template: { compilerOptions: { whitespace: 'preserve' } } })],
  // petite-vue-i18n: Composition API only, no devtools in production builds.
  define: {
    __VUE_I18N_LEGACY_API__: 'false',
    __VUE_I18N_FULL_INSTALL__: 'false',
    __INTLIFY_PROD_DEVTOOLS__: 'false',
  },
  build: {
    target: 'es2022',
    sourcemap: true,
    // Budgets are enforced by tests/e2e/test_bundle_budget.py (250 KB gzipped per app), not by this warning.
    chunkSizeWarningLimit: 1000,
    rolldownOptions: {
      input: Object.fromEntries(pages.map((page) => [page, resolve(import.meta.dirname, `${page}.html`)])),
      // The libraries every app shares (Vue, Amplify Auth, mqtt.js...) in one cacheable chunk.
      output: {
        codeSplitting: {
          groups: [
            { name: 'vendor', test: /node_modules/, minShareCount: 2 },
            { name: 'shared', test: /src[\\/]shared|plugin-vue/, minShareCount: 2 },
          ],
        },
      },
    },
  },
  server: {
    proxy: {
      '/config.json': backend,
      '/graphql': backend,
      '/cognito': backend,
      '/shops': backend,
      '/orders': backend,
      '/mqtt': { target: backend.replace(/^http/, 'ws'), ws: true },
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
})
