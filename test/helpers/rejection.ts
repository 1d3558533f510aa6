// The error a promise rejects with, for tests that assert on its code and message.

/**
 * Awaits `promise` and returns the Error it rejects with.
 * @throws Error when the promise resolves, or rejects with something that is not an Error (a thrown string, say).
 */
export async function rejection(
  promise: Promise<unknown> | void,
): Promise<Error & { readonly code?: unknown }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`expected a rejection with an Error, got ${String(error)}`);
  }
  throw new Error('expected a rejection');
}
