// The one error type of quorumd's API: whatever a request is refused or failed
// with, by the HTTP layer or by the runtime, is an ApiError, and the HTTP
// layer answers it as ErrorBody with its status. It depends on nothing, so
// both sides can import it without importing each other.

/**
 * ApiError is a refusal or failure to answer with: an HTTP status, a stable
 * snake_case code, a message for people and, for bad input, the field at fault.
 */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** The shape of every error reply: { error: { code, message, field? } }. */
export interface ErrorBody {
  error: { code: string; message: string; field?: string };
}
