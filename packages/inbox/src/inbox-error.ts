/** An error answer of the API, in its one shape: `{"error": {"code", "message", "request_id"}}`. */
export class InboxError extends Error {
  override readonly name = 'InboxError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  /** Reads the API's error body; a body in another shape (a proxy's page) keeps the HTTP status. */
  static async from(res: Response): Promise<InboxError> {
    const body = (await res.json().catch(() => null)) as { error?: { code?: unknown; message?: unknown; request_id?: unknown } } | null;
    const e = body?.error;
    const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
    return new InboxError(res.status, text(e?.code) ?? `http_${res.status}`, text(e?.message) ?? res.statusText, text(e?.request_id));
  }
}
