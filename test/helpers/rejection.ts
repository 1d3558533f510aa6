// What a promise a test expects to fail rejected with, so the test can assert on the error itself.

/**
 * The reason `promise` rejected with, typed as `T` for the assertions that follow (default `unknown`).
 * @throws Error "expected a rejection" when the promise resolved instead.
 */
export async function rejection<T = unknown>(promise: Promise<unknown> | void): Promise<T> {
  try {
    await promise;
  } catch (error) {
    return error as T;
  }
  throw new Error('expected a rejection');
}
