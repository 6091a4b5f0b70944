// One error type for everything the backend can refuse: REST, GraphQL and sign-in.

/** A refusal with the API's machine-readable code (`store_closed`, `CodeMismatchException`, `network`...). */
export class AppError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 0,
  ) {
    super(message)
    this.name = 'AppError'
  }
}

export const NETWORK = 'network'

export function asAppError(error: unknown): AppError {
  if (error instanceof AppError) return error
  if (error instanceof Error) return new AppError(error.name || 'error', error.message)
  return new AppError('error', String(error))
}
