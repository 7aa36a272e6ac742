/**
 * Redaction of secrets in text that is about to be logged or shown, such as a
 * config error that quotes the value it got. Works on plain text, so it also
 * covers JSON that does not parse and values quoted inside a longer message.
 */

export const REDACTED = '***';

/** A key or variable name that holds a secret: `password`, `clientSecret`, `AWS_SECRET_ACCESS_KEY`, `api_token`... */
const SECRET_NAME = /(secret|passw(or)?d|pwd|token|credential|private|api_?key)/i;

/** The private members of a JWK (RSA d, p, q, dp, dq, qi; EC/OKP d; oct k; RSA multi-prime oth). */
const PRIVATE_JWK_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']);

/** Whether a variable or key name says its value is a secret. */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

const isSecretKey = (key: string) => PRIVATE_JWK_MEMBERS.has(key) || isSecretName(key);

// `scheme://user:password@host` — the password may hold anything but whitespace and `/` (a literal `@` included).
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/:@]*):([^\s/]*)@/gi;
// `password=...` in a query string or a libpq keyword DSN.
const ASSIGNMENT = /([A-Za-z0-9_.-]+)=([^\s&;#"]+)/g;
const PEM_PRIVATE = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g;
// `"key": value` in JSON: a string, a literal, or an object/array without nested brackets.
const JSON_MEMBER = /"((?:[^"\\]|\\.)*)"(\s*:\s*)("(?:[^"\\]|\\.)*"|\{[^{}]*\}|\[[^[\]]*\]|[^,}\]\s]+)/g;

/**
 * `text` with URL passwords, secret assignments (`password=…`), PEM private keys and
 * secret JSON members (private JWK members, anything under a secret-named key)
 * replaced by `***`. JSON that parses is walked; anything else is matched as text.
 */
export function redactSecrets(text: string): string {
  const json = parseJson(text);
  const redacted = json === undefined ? text : JSON.stringify(redactValue(json.value));
  return redactJsonMembers(
    redacted
      .replace(PEM_PRIVATE, (_match, kind: string) => `-----BEGIN ${kind}PRIVATE KEY----- ${REDACTED} -----END ${kind}PRIVATE KEY-----`)
      .replace(URL_USERINFO, (_match, scheme: string, user: string) => `${scheme}${user}:${REDACTED}@`)
      .replace(ASSIGNMENT, (match, key: string) => (isSecretName(key) ? `${key}=${REDACTED}` : match)),
  );
}

/** Secret members at any depth: a member whose value is an object is redacted whole; repeated until nothing changes. */
function redactJsonMembers(text: string): string {
  let current = text;
  for (;;) {
    const next = current.replace(JSON_MEMBER, (match, key: string, colon: string, value: string) =>
      isSecretKey(key) && value !== `"${REDACTED}"` ? `"${key}"${colon}"${REDACTED}"` : match,
    );
    if (next === current) return current;
    current = next;
  }
}

function parseJson(text: string): { value: unknown } | undefined {
  if (!/^\s*[[{]/.test(text)) return undefined;
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}

function redactValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactValue);
  if (value === null || typeof value !== 'object') return typeof value === 'string' ? redactSecrets(value) : value;
  return Object.fromEntries(Object.entries(value).map(([key, member]) => [key, isSecretKey(key) ? REDACTED : redactValue(member)]));
}
