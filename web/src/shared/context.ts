// The running app's context (config, clients, shop), provided once by mountApp and injected by components.
import { inject } from 'vue'
import type { Api } from './api'
import type { RuntimeConfig } from './config'
import type { GraphQLClient } from './graphql'

export interface AppContext {
  config: RuntimeConfig
  api: Api
  graphql: GraphQLClient
  /** The shop this screen is for: `?shop=` in the URL, else the deployment's default shop. */
  shopId: string
  params: URLSearchParams
}

export const CONTEXT_KEY = Symbol('serverlesspresso.context')

export function useAppContext(): AppContext {
  const context = inject<AppContext>(CONTEXT_KEY)
  if (!context) throw new Error('mountApp() provides the app context')
  return context
}
