// Typed GraphQL reads: the generated TypedDocumentStrings carry each operation's result and variable types.
import { AppError, NETWORK } from './errors'
import type { TypedDocumentString } from './generated/graphql'

export type OptionalTokenSource = () => Promise<string | null>

export class GraphQLClient {
  constructor(
    private readonly url: string,
    private readonly token: OptionalTokenSource,
    private readonly fetcher: typeof fetch = (...args) => fetch(...args),
  ) {}

  async query<TResult, TVariables>(document: TypedDocumentString<TResult, TVariables>, variables: TVariables): Promise<TResult> {
    const token = await this.token()
    let response: Response
    try {
      response = await this.fetcher(this.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query: document.toString(), variables }),
      })
    } catch (error) {
      throw new AppError(NETWORK, error instanceof Error ? error.message : 'the network request failed')
    }
    const payload = (await response.json().catch(() => null)) as {
      data?: TResult
      errors?: { message: string; extensions?: { code?: string } }[]
      error?: { code: string; message: string }
    } | null
    if (payload?.error) throw new AppError(payload.error.code, payload.error.message, response.status)
    const first = payload?.errors?.[0]
    if (first) throw new AppError(first.extensions?.code ?? 'graphql_error', first.message, response.status)
    if (!response.ok || !payload?.data) throw new AppError(`http_${response.status}`, response.statusText, response.status)
    return payload.data
  }
}
