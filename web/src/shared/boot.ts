// Starting an app: load the runtime config, configure sign-in, set up languages, mount; a clear page if that fails.
import { createApp, type Component } from 'vue'
import { Api } from './api'
import { configureAuth, idToken, optionalIdToken } from './auth'
import { loadConfig, type RuntimeConfig } from './config'
import { CONTEXT_KEY, type AppContext } from './context'
import { GraphQLClient } from './graphql'
import { createAppI18n, type Language } from './i18n'
import type { Messages } from './locales'
import './styles.css'

export async function mountApp(root: Component, messages: Record<Language, Messages>): Promise<void> {
  let config: RuntimeConfig
  try {
    config = await loadConfig()
  } catch (error) {
    document.getElementById('app')!.innerHTML = `<main style="padding:2rem;font-family:system-ui"><h1>Cannot start</h1><p role="alert"></p></main>`
    document.querySelector('#app p')!.textContent = `${error instanceof Error ? error.message : error}. Is the shop running?`
    return
  }
  configureAuth(config)
  const params = new URLSearchParams(window.location.search)
  const context: AppContext = {
    config,
    api: new Api(config.apiUrl, idToken),
    graphql: new GraphQLClient(config.graphqlUrl, optionalIdToken),
    shopId: params.get('shop')?.trim() || config.defaultShopId,
    params,
  }
  createApp(root).provide(CONTEXT_KEY, context).use(createAppI18n(messages)).mount('#app')
}
