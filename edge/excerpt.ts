// Short, quoted excerpts of user input for error messages: a message never echoes more than a few dozen characters.

/** Characters of user input an error message quotes at most. */
export const EXCERPT_CHARS = 64;

/**
 * `value` as a JSON string literal, cut to `max` characters with an ellipsis and its length when longer:
 * `"aaaa…" (900000 characters)`. Cuts never split a surrogate pair.
 */
export function excerpt(value: string, max = EXCERPT_CHARS): string {
  if (value.length <= max) return JSON.stringify(value);
  let end = max;
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${JSON.stringify(`${value.slice(0, end)}…`)} (${value.length} characters)`;
}

/** Longest error message sent; a longer one (a bug: some site quoted input whole) is cut. */
export const MAX_MESSAGE_CHARS = 600;

/** Cuts `message` to MAX_MESSAGE_CHARS with an ellipsis. */
export function boundMessage(message: string): string {
  return message.length <= MAX_MESSAGE_CHARS ? message : `${message.slice(0, MAX_MESSAGE_CHARS - 1)}…`;
}
