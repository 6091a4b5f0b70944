// Vite: one project, four HTML entries (a landing page and the three apps), one shared client.
/// <reference types="vitest/config" />
import { resolve } from 'node:path'
import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'

// `npm run dev` serves the apps with hot reload; API, sign-in and MQTT go to a running `serverlesspresso up`.
const backend = process.env.SERVERLESSPRESSO_URL ?? 'http://127.0.0.1:8000'

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
      input: {
        index: resolve(import.meta.dirname, 'index.html'),
        order: resolve(import.meta.dirname, 'order.html'),
        barista: resolve(import.meta.dirname, 'barista.html'),
        display: resolve(import.meta.dirname, 'display.html'),
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
