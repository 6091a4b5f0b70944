// The runtime config every app loads first: where the API, GraphQL, MQTT and sign-in live.
// Locally `serverlesspresso up` serves it; on AWS the deploy writes it from the stack's outputs (infra/app_config.py).

export interface RuntimeConfig {
  apiUrl: string
  graphqlUrl: string
  /** ws(s)://… MQTT over WebSockets; on AWS IoT Core's endpoint, its query naming the custom authorizer. */
  mqttUrl: string
  /** The MQTT CONNECT username; on AWS it carries the authorizer's name too (the ID token is the password). */
  mqttUsername: string
  defaultShopId: string
  /** `userPoolEndpoint` only locally (`up`'s stand-in); on AWS Amplify derives Cognito's from the pool id. */
  auth: { userPoolId: string; userPoolClientId: string; userPoolEndpoint?: string }
}

type PageLocation = { origin: string; protocol: string; host: string }

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

/** Check the fields every app reads, so a broken deploy says which one instead of failing somewhere later. */
export function parseConfig(raw: unknown): RuntimeConfig {
  const object = (value: unknown, name: string): Record<string, unknown> => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(`/config.json: ${name} is not an object`)
    return value as Record<string, unknown>
  }
  const text = (from: Record<string, unknown>, key: string, name = key, required = false): string => {
    const value = from[key] ?? ''
    if (typeof value !== 'string') throw new ConfigError(`/config.json: ${name} is not a string`)
    if (required && !value.trim()) throw new ConfigError(`/config.json: ${name} is missing`)
    return value.trim()
  }
  const config = object(raw, 'the file')
  const auth = object(config.auth, 'auth')
  const endpoint = text(auth, 'userPoolEndpoint', 'auth.userPoolEndpoint')
  return {
    apiUrl: text(config, 'apiUrl'),
    graphqlUrl: text(config, 'graphqlUrl'),
    mqttUrl: text(config, 'mqttUrl'),
    mqttUsername: text(config, 'mqttUsername'),
    defaultShopId: text(config, 'defaultShopId', 'defaultShopId', true),
    auth: {
      userPoolId: text(auth, 'userPoolId', 'auth.userPoolId', true),
      userPoolClientId: text(auth, 'userPoolClientId', 'auth.userPoolClientId', true),
      ...(endpoint ? { userPoolEndpoint: endpoint } : {}),
    },
  }
}

/**
 * Absolute URLs for the clients. Empty or relative URLs mean "this page's origin", so one build works on any address a
 * phone used; a GraphQL path (`/graphql`) is a path on the API, wherever the API is. Absolute URLs (AWS: the API on
 * another origin, IoT Core over wss://) are kept as they are, query included.
 */
export function resolveConfig(raw: RuntimeConfig, location: PageLocation): RuntimeConfig {
  const absolute = (url: string) => new URL(url || '/', location.origin).toString().replace(/\/$/, '')
  const apiUrl = raw.apiUrl ? absolute(raw.apiUrl) : location.origin
  const graphqlUrl = raw.graphqlUrl.startsWith('/') ? `${apiUrl}${raw.graphqlUrl}` : absolute(raw.graphqlUrl || `${apiUrl}/graphql`)
  const wsScheme = location.protocol === 'https:' ? 'wss' : 'ws'
  return {
    ...raw,
    apiUrl,
    graphqlUrl,
    mqttUrl: raw.mqttUrl || `${wsScheme}://${location.host}/mqtt`,
    auth: {
      userPoolId: raw.auth.userPoolId,
      userPoolClientId: raw.auth.userPoolClientId,
      ...(raw.auth.userPoolEndpoint ? { userPoolEndpoint: absolute(raw.auth.userPoolEndpoint) } : {}),
    },
  }
}

export async function loadConfig(): Promise<RuntimeConfig> {
  const response = await fetch('/config.json', { cache: 'no-store' })
  if (!response.ok) throw new Error(`cannot load /config.json (${response.status})`)
  return resolveConfig(parseConfig(await response.json()), window.location)
}
