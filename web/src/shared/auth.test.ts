// Sign-in against the config's user pool: Cognito's regional endpoint on AWS, `up`'s stand-in locally.
import { Amplify } from 'aws-amplify'
import { signIn } from 'aws-amplify/auth'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { authResources, configureAuth } from './auth'
import { parseConfig, resolveConfig } from './config'
import awsConfig from './testdata/config.aws.json'
import localConfig from './testdata/config.local.json'

const PAGE = { origin: 'https://d222222abcdef8.cloudfront.net', protocol: 'https:', host: 'd222222abcdef8.cloudfront.net' }
const LOCAL_PAGE = { origin: 'http://127.0.0.1:8000', protocol: 'http:', host: '127.0.0.1:8000' }

/** Where Amplify sends its first Cognito call (InitiateAuth), and with which target. */
async function firstCognitoCall(): Promise<{ url: string; target: string | null }> {
  const calls: { url: string; target: string | null }[] = []
  vi.stubGlobal('fetch', async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init)
    calls.push({ url: request.url, target: request.headers.get('x-amz-target') })
    return new Response(JSON.stringify({ __type: 'UserNotFoundException', message: 'stop here' }), {
      status: 400,
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': 'UserNotFoundException' },
    })
  })
  await signIn({ username: '+14155550123', options: { authFlowType: 'USER_AUTH', preferredChallenge: 'SMS_OTP' } }).catch(() => undefined)
  expect(calls.length).toBeGreaterThan(0)
  return calls[0]!
}

describe('sign-in', () => {
  afterEach(() => vi.unstubAllGlobals())

  it('on AWS has no custom endpoint: Amplify calls Cognito in the pool id region', async () => {
    const config = resolveConfig(parseConfig(awsConfig), PAGE)
    expect(authResources(config).Auth?.Cognito).not.toHaveProperty('userPoolEndpoint')
    configureAuth(config)
    const call = await firstCognitoCall()
    expect(call.url).toBe('https://cognito-idp.eu-west-1.amazonaws.com/')
    expect(call.target).toBe('AWSCognitoIdentityProviderService.InitiateAuth')
  })

  it('locally goes to the stand-in on the page origin', async () => {
    const config = resolveConfig(parseConfig(localConfig), LOCAL_PAGE)
    expect(authResources(config).Auth?.Cognito?.userPoolEndpoint).toBe('http://127.0.0.1:8000/cognito')
    configureAuth(config)
    const call = await firstCognitoCall()
    expect(call.url).toBe('http://127.0.0.1:8000/cognito')
    expect(call.target).toBe('AWSCognitoIdentityProviderService.InitiateAuth')
    expect(Amplify.getConfig().Auth?.Cognito.userPoolClientId).toBe('serverlesspresso')
  })
})
