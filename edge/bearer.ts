// Bearer-token auth (hono/bearer-auth) that parses the Authorization header the same way on Node and on workerd.
//
// Why: a field value excludes leading and trailing whitespace (RFC 9110 §5.5), and Node's HTTP parser strips it
// before the app sees the header, but workerd hands it on; hono's token pattern then failed on workerd only
// ("Bearer t0ken " accepted on Node, refused on workerd). Trimming spaces and tabs here makes both accept it.
import type { MiddlewareHandler } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';

const OWS_AROUND = /^[ \t]+|[ \t]+$/g;

/**
 * Requires `Authorization: Bearer <token>`; throws hono's HTTPException (401, or 400 for a malformed header) that
 * `errorResponse` maps to UNAUTHORIZED.
 */
export function requireBearer(token: string): MiddlewareHandler {
  const auth: MiddlewareHandler = bearerAuth({ token });
  return async function checkBearer(c, next) {
    const value = c.req.raw.headers.get('Authorization');
    if (value !== null) {
      const trimmed = value.replace(OWS_AROUND, '');
      if (trimmed !== value) {
        const headers = new Headers(c.req.raw.headers);
        headers.set('Authorization', trimmed);
        c.req.raw = new Request(c.req.raw, { headers });
      }
    }
    return auth(c, next);
  };
}
