/**
 * A stand-in for the browser's EventSource in unit tests: records each
 * connection, and lets a test play the server (events) and the browser
 * (errors with the readyState it would set).
 */
export class FakeEventSource {
  static opened: FakeEventSource[] = [];
  readyState = 0;
  private readonly listeners = new Map<string, ((e: Event) => void)[]>();

  constructor(readonly url: string) {
    FakeEventSource.opened.push(this);
  }

  static get last(): FakeEventSource {
    return FakeEventSource.opened.at(-1)!;
  }

  addEventListener(type: string, listener: (e: Event) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  close(): void {
    this.readyState = 2;
  }

  emit(type: string, data: unknown, lastEventId = ''): void {
    const event = new MessageEvent(type, { data: typeof data === 'string' ? data : JSON.stringify(data), lastEventId });
    for (const listener of this.listeners.get(type) ?? []) listener(event);
  }

  /** The connection failing: readyState 0 while the browser retries by itself, 2 once it gives up. */
  fail(readyState: 0 | 2): void {
    this.readyState = readyState;
    for (const listener of this.listeners.get('error') ?? []) listener(new Event('error'));
  }
}
