// Sign-in with Amplify Auth v6: passwordless phone sign-in (USER_AUTH + SMS_OTP), the same code for
// the local Cognito-compatible endpoint and a real Cognito user pool.
import { Amplify, type ResourcesConfig } from 'aws-amplify'
import { confirmSignIn, fetchAuthSession, signIn, signOut, signUp } from 'aws-amplify/auth'
import type { RuntimeConfig } from './config'
import { AppError, asAppError } from './errors'

export interface Session {
  idToken: string
  sub: string
  isAdmin: boolean
  phone: string | null
}

export const ADMIN_GROUP = 'admin'

/** Amplify's settings: a custom endpoint only locally; on AWS Amplify calls cognito-idp in the pool id's region. */
export function authResources(config: RuntimeConfig): ResourcesConfig {
  const { userPoolId, userPoolClientId, userPoolEndpoint } = config.auth
  return {
    Auth: {
      Cognito: {
        userPoolId,
        userPoolClientId,
        ...(userPoolEndpoint ? { userPoolEndpoint } : {}),
        loginWith: { phone: true },
        passwordless: { smsOtpEnabled: true, preferredChallenge: 'SMS_OTP' },
      },
    },
  }
}

export function configureAuth(config: RuntimeConfig): void {
  Amplify.configure(authResources(config))
}

/** The signed-in person, refreshing the tokens when they are about to expire; null if nobody is signed in. */
export async function currentSession(forceRefresh = false): Promise<Session | null> {
  let tokens
  try {
    tokens = (await fetchAuthSession({ forceRefresh })).tokens
  } catch {
    return null // a refresh token that was revoked or expired: sign in again
  }
  const idToken = tokens?.idToken
  if (!idToken) return null
  const claims = idToken.payload
  const groups = Array.isArray(claims['cognito:groups']) ? (claims['cognito:groups'] as string[]) : []
  return {
    idToken: idToken.toString(),
    sub: String(claims.sub ?? ''),
    isAdmin: groups.includes(ADMIN_GROUP),
    phone: typeof claims.phone_number === 'string' ? claims.phone_number : null,
  }
}

/** The ID token for an API call or the MQTT password; throws `unauthorized` when signed out. */
export async function idToken(): Promise<string> {
  const session = await currentSession()
  if (!session) throw new AppError('unauthorized', 'sign in first')
  return session.idToken
}

export async function optionalIdToken(): Promise<string | null> {
  return (await currentSession())?.idToken ?? null
}

/** Send a one-time code to `phone` (E.164). Signs up first: a phone seen for the first time is a new customer. */
export async function sendCode(phone: string): Promise<{ destination: string | null }> {
  try {
    await signUp({ username: phone, options: { userAttributes: { phone_number: phone } } })
  } catch (error) {
    if (asAppError(error).code !== 'UsernameExistsException') throw asAppError(error)
  }
  if (await currentSession()) await signOut()
  try {
    const result = await signIn({ username: phone, options: { authFlowType: 'USER_AUTH', preferredChallenge: 'SMS_OTP' } })
    if (result.nextStep.signInStep === 'CONFIRM_SIGN_IN_WITH_SMS_CODE') {
      return { destination: result.nextStep.codeDeliveryDetails?.destination ?? null }
    }
    if (result.isSignedIn) return { destination: null }
    throw new AppError('unexpected_step', `unexpected sign-in step ${result.nextStep.signInStep}`)
  } catch (error) {
    throw asAppError(error)
  }
}

export async function confirmCode(code: string): Promise<Session> {
  try {
    const result = await confirmSignIn({ challengeResponse: code })
    if (!result.isSignedIn) throw new AppError('unexpected_step', `unexpected sign-in step ${result.nextStep.signInStep}`)
  } catch (error) {
    throw asAppError(error)
  }
  const session = await currentSession()
  if (!session) throw new AppError('unauthorized', 'signed in, but no tokens were stored')
  return session
}

export async function signOutEverywhere(): Promise<void> {
  await signOut()
}
