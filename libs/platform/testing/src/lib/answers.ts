/** A response as `{ status, body }`, its body parsed as JSON. */
export async function answerOf(response: Response): Promise<{ status: number; body: unknown }> {
  return { status: response.status, body: await response.json() };
}

/** The one error shape of every app (docs/contracts.md): `{ error: { code, message } }`, as {@link answerOf} gives it. */
export function errorShape(status: number, code: string): { status: number; body: unknown } {
  return { status, body: { error: { code, message: expect.any(String) } } };
}

/**
 * What `origin` answers, through `send` (e.g. an operator's fetch), to an
 * unknown route (GET /nowhere) and to malformed JSON (POST /nowhere): in the
 * one error shape, `[errorShape(404, 'NOT_FOUND'), errorShape(400, 'REQUEST.MALFORMED_JSON')]`.
 */
export async function unknownRouteAnswers(
  origin: string,
  send: (url: string, init?: RequestInit) => Promise<Response> = fetch,
): Promise<{ status: number; body: unknown }[]> {
  return [
    await answerOf(await send(`${origin}/nowhere`)),
    await answerOf(await send(`${origin}/nowhere`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a": ' })),
  ];
}
