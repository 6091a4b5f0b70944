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
  plugins: [vue()],
  // petite-vue-i18n: Composition API only, no devtools in production builds.
  define: {
    __VUE_I18N_LEGACY_API__: 'false',
    __VUE_I18N_FULL_INSTALL__: 'false',
    __INTLIFY_PROD_DEVTOOLS__: 'false',
  },
  build: {
    target: 'es2022',
    sourcemap: true,
    rollupOptions: {
      input: Object.fromEntries(pages.map((page) => [page, resolve(import.meta.dirname, `${page}.html`)])),
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
