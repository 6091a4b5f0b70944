// The runtime config every app loads first: where the API, GraphQL, MQTT and sign-in live.
// Locally `serverlesspresso up` serves it; on AWS the deploy writes it from the stack's outputs.

export interface RuntimeConfig {
  apiUrl: string
  graphqlUrl: string
  mqttUrl: string
  mqttUsername: string
  defaultShopId: string
  auth: { userPoolId: string; userPoolClientId: string; userPoolEndpoint?: string }
}

/** Empty or relative URLs mean "this page's origin", so one build works on any address a phone used. */
export function resolveConfig(raw: RuntimeConfig, location: { origin: string; protocol: string; host: string }): RuntimeConfig {
  const absolute = (url: string) => new URL(url || '/', location.origin).toString().replace(/\/$/, '')
  const wsScheme = location.protocol === 'https:' ? 'wss' : 'ws'
  return {
    ...raw,
    apiUrl: raw.apiUrl ? absolute(raw.apiUrl) : location.origin,
    graphqlUrl: absolute(raw.graphqlUrl || '/graphql'),
    mqttUrl: raw.mqttUrl || `${wsScheme}://${location.host}/mqtt`,
    auth: {
      ...raw.auth,
      ...(raw.auth.userPoolEndpoint ? { userPoolEndpoint: absolute(raw.auth.userPoolEndpoint) } : {}),
    },
  }
}

export async function loadConfig(): Promise<RuntimeConfig> {
  const response = await fetch('/config.json', { cache: 'no-store' })
  if (!response.ok) throw new Error(`cannot load /config.json (${response.status})`)
  return resolveConfig((await response.json()) as RuntimeConfig, window.location)
}
