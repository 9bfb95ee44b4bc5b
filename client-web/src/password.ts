// One-time passwords an admin hands to a person (new account, reset): made in
// the browser from crypto.getRandomValues, shown once, never stored.

/** No 0/O, 1/l/I: the password is read off a screen and typed by someone else. */
const ALPHABET = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/**
 * 16 characters of a 55-letter alphabet: about 92 bits, far past guessing
 * through the login back-off; the server's minimum is 8 characters.
 */
export function generatePassword(length = 16): string {
  // Rejection sampling: 256 is not a multiple of 55, a plain modulo would
  // favour the first letters.
  const limit = 256 - (256 % ALPHABET.length);
  let out = '';
  const buf = new Uint8Array(length * 2);
  while (out.length < length) {
    crypto.getRandomValues(buf);
    for (const b of buf) {
      if (b < limit && out.length < length) out += ALPHABET[b % ALPHABET.length];
    }
  }
  return out;
}

/** What the server accepts (`http.rs`: 8 to 1024 characters). */
export function passwordProblem(p: string): string | null {
  if ([...p].length < 8) return 'A password needs at least 8 characters.';
  if (new TextEncoder().encode(p).length > 1024) return 'That password is too long.';
  return null;
}
