"""Local, Cognito-compatible passwordless sign-in: a phone number and a one-time SMS code (emulated by an outbox)."""
