// The runtime config as the apps resolve it: the AWS-shaped file (infra/app_config.py) and the local one (`up`).
import { describe, expect, it } from 'vitest'
import { Api } from './api'
import { ConfigError, parseConfig, resolveConfig, type RuntimeConfig } from './config'
import { GraphQLClient } from './graphql'
import { LiveConnection } from './live'
import awsConfig from './testdata/config.aws.json'
import localConfig from './testdata/config.local.json'

// The apps on CloudFront: the API is another distribution, IoT Core another host again.
const PAGE = { origin: 'https://d222222abcdef8.cloudfront.net', protocol: 'https:', host: 'd222222abcdef8.cloudfront.net' }
const API = 'https://d111111abcdef8.cloudfront.net'
const IOT = 'wss://a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com/mqtt?x-amz-customauthorizer-name=serverlesspresso-dev-iot'

const aws = (): RuntimeConfig => resolveConfig(parseConfig(awsConfig), PAGE)

describe('the AWS config', () => {
  it('keeps every absolute address, the authorizer query included, and has no sign-in endpoint', () => {
    expect(aws()).toEqual({
      apiUrl: API,
      graphqlUrl: `${API}/graphql`,
      mqttUrl: IOT,
      mqttUsername: 'serverlesspresso-web?x-amz-customauthorizer-name=serverlesspresso-dev-iot',
      defaultShopId: 'default',
      auth: { userPoolId: 'eu-west-1_AbCdEf123', userPoolClientId: '1h2g3f4e5d6c7b8a9z0y1x2w3v' },
    })
  })

  it('sends REST commands to the API origin with the ID token', async () => {
    const sent: { url: string; init: RequestInit }[] = []
    const fetcher = (async (url: string, init: RequestInit) => {
      sent.push({ url, init })
      return new Response(JSON.stringify({ orderId: 'o1', state: 'CREATED' }), { status: 201 })
    }) as typeof fetch
    await new Api(aws().apiUrl, async () => 'id-token', fetcher).placeOrder('default', 'c0de')
    expect(sent[0]!.url).toBe(`${API}/shops/default/orders`)
    expect(sent[0]!.init.headers).toEqual({ Authorization: 'Bearer id-token', 'Content-Type': 'application/json' })
    // A bearer token, never cookies: the API's CORS need not allow credentials.
    expect(sent[0]!.init.credentials).toBeUndefined()
  })

  it('sends GraphQL to the API origin with the ID token when signed in, without it when not', async () => {
    const headers: unknown[] = []
    const urls: string[] = []
    const fetcher = (async (url: string, init: RequestInit) => {
      urls.push(url)
      headers.push(init.headers)
      return new Response(JSON.stringify({ data: { ok: true } }), { status: 200 })
    }) as typeof fetch
    const document = { toString: () => '{ ok }' } as never
    await new GraphQLClient(aws().graphqlUrl, async () => 'id-token', fetcher).query(document, {})
    await new GraphQLClient(aws().graphqlUrl, async () => null, fetcher).query(document, {})
    expect(urls).toEqual([`${API}/graphql`, `${API}/graphql`])
    expect(headers).toEqual([
      { 'Content-Type': 'application/json', Authorization: 'Bearer id-token' },
      { 'Content-Type': 'application/json' },
    ])
  })

  it('connects to IoT Core with the config username and the ID token as the password', async () => {
    const config = aws()
    const opened: { url: string; options: Record<string, unknown> }[] = []
    const connection = new LiveConnection({
      url: config.mqttUrl,
      username: config.mqttUsername,
      token: async () => 'id-token',
      topics: [],
      onMessage: () => undefined,
      onState: () => undefined,
      onResync: () => undefined,
      connect: ((url: string, options: Record<string, unknown>) => {
        opened.push({ url, options })
        return { on: () => undefined, end: () => undefined }
      }) as never,
    })
    connection.start()
    await Promise.resolve()
    await Promise.resolve()
    connection.stop()
    expect(opened).toHaveLength(1)
    expect(opened[0]!.url).toBe(IOT)
    expect(opened[0]!.options).toMatchObject({
      username: 'serverlesspresso-web?x-amz-customauthorizer-name=serverlesspresso-dev-iot',
      password: 'id-token',
      protocolVersion: 4,
    })
  })
})

describe('the local config', () => {
  it('means this page origin for every empty or relative address', () => {
    const local = { origin: 'http://192.168.1.20:8000', protocol: 'http:', host: '192.168.1.20:8000' }
    expect(resolveConfig(parseConfig(localConfig), local)).toEqual({
      apiUrl: 'http://192.168.1.20:8000',
      graphqlUrl: 'http://192.168.1.20:8000/graphql',
      mqttUrl: 'ws://192.168.1.20:8000/mqtt',
      mqttUsername: '',
      defaultShopId: 'default',
      auth: {
        userPoolId: 'local_serverlesspresso',
        userPoolClientId: 'serverlesspresso',
        userPoolEndpoint: 'http://192.168.1.20:8000/cognito',
      },
    })
  })

  it('uses wss:// behind HTTPS', () => {
    const tunnel = { origin: 'https://bar.example', protocol: 'https:', host: 'bar.example' }
    expect(resolveConfig(parseConfig(localConfig), tunnel).mqttUrl).toBe('wss://bar.example/mqtt')
  })
})

describe('resolving', () => {
  it('puts a GraphQL path on the API, wherever the API is', () => {
    const config = parseConfig({ ...awsConfig, apiUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/api/', graphqlUrl: '/graphql' })
    const resolved = resolveConfig(config, PAGE)
    expect(resolved.apiUrl).toBe('https://abc.execute-api.eu-west-1.amazonaws.com/api')
    expect(resolved.graphqlUrl).toBe('https://abc.execute-api.eu-west-1.amazonaws.com/api/graphql')
  })

  it('defaults GraphQL to the API when the config names none', () => {
    expect(resolveConfig(parseConfig({ ...awsConfig, graphqlUrl: '' }), PAGE).graphqlUrl).toBe(`${API}/graphql`)
  })
})

describe('a config the apps cannot use', () => {
  it.each([
    [null, 'the file is not an object'],
    [[], 'the file is not an object'],
    [{ ...awsConfig, auth: undefined }, 'auth is not an object'],
    [{ ...awsConfig, auth: { userPoolClientId: 'c' } }, 'auth.userPoolId is missing'],
    [{ ...awsConfig, auth: { userPoolId: 'p', userPoolClientId: ' ' } }, 'auth.userPoolClientId is missing'],
    [{ ...awsConfig, defaultShopId: '' }, 'defaultShopId is missing'],
    [{ ...awsConfig, mqttUrl: 42 }, 'mqttUrl is not a string'],
  ])('is refused, naming the field: %j', (raw, message) => {
    expect(() => parseConfig(raw)).toThrow(ConfigError)
    expect(() => parseConfig(raw)).toThrow(message)
  })

  it('tolerates fields it does not read', () => {
    expect(parseConfig({ ...awsConfig, region: 'eu-west-1' }).apiUrl).toBe(API)
  })
})
