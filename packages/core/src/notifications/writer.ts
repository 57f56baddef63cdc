import { GroupCommit } from '../platform/group-commit.js';
import { isConnectionError } from '../platform/errors.js';
import type { LocaleOutcome } from '../content/render-pool.js';
import { enqueueAfterCommit, insertPlanned, loadRecipientsFor, planRecipients, renderContent, type NotificationDeps } from './accept.js';
import { candidateLocales, type PlannedNotification } from './plan.js';
import type { NotificationSpec } from './spec.js';

interface Request {
  spec: NotificationSpec;
  userId: string;
  /** The template's content in each locale the recipient may get, rendered before the group. */
  rendered: Record<string, LocaleOutcome> | undefined;
}

type Outcome = { ok: true; planned: PlannedNotification } | { ok: false; error: unknown };

export interface WriterOptions {
  /** Most notifications one statement writes. */
  maxGroup?: number;
  /** Most groups being written at once (each holds one pooled connection). */
  maxInFlight?: number;
}

/**
 * Writes single notifications with group commit: the requests that arrive
 * together share one recipients query, one multi-row insert (one commit) and
 * one addBulk per channel. Each request is answered after its group commits,
 * so a 202 still means stored; a group that fails for one bad row is retried
 * row by row, so only that request fails.
 */
export class NotificationWriter {
  private readonly groupCommit: GroupCommit<Request, Outcome>;

  constructor(
    private readonly deps: Omit<NotificationDeps, 'requestId'>,
    options: WriterOptions = {},
  ) {
    this.groupCommit = new GroupCommit((requests) => this.writeGroup(requests), {
      maxGroup: options.maxGroup ?? 500,
      maxInFlight: options.maxInFlight ?? 4,
      splitOnError: (err) => !isConnectionError(err),
    });
  }

  /**
   * Plans the notification for the user, stores it and queues its jobs. A
   * template renders first, in the render pool, in every locale the user may
   * get (candidateLocales): the group learns the user's locale, but a slow
   * template must never hold the other requests' commit.
   */
  async write(spec: NotificationSpec, userId: string): Promise<PlannedNotification> {
    const [rendered] = await renderContent(spec, [{ path: '', locales: candidateLocales(spec) }]);
    const outcome = await this.groupCommit.submit({ spec, userId, rendered });
    if (!outcome.ok) throw outcome.error;
    return outcome.planned;
  }

  private async writeGroup(requests: Request[]): Promise<Outcome[]> {
    const now = new Date();
    const recipients = await this.recipientsOf(requests);
    const outcomes = requests.map((r, i): Outcome => {
      try {
        const { planned, failures } = planRecipients(r.spec, [{ userId: r.userId, path: '', recipient: recipients[i], rendered: r.rendered }], now);
        return failures[0] ? { ok: false, error: failures[0] } : { ok: true, planned: planned[0]! };
      } catch (err) {
        return { ok: false, error: err };
      }
    });
    const planned = outcomes.flatMap((o) => (o.ok ? [o.planned] : []));
    if (planned.length > 0) {
      await insertPlanned(this.deps.db.pool, planned);
      await enqueueAfterCommit(this.deps, planned);
    }
    return outcomes;
  }

  /** One query per (app, category) among the requests; usually one in all. */
  private async recipientsOf(requests: Request[]) {
    const groups = new Map<string, { spec: NotificationSpec; userIds: Set<string> }>();
    for (const { spec, userId } of requests) {
      const key = `${spec.appId}\0${spec.category ?? ''}`;
      const group = groups.get(key) ?? { spec, userIds: new Set() };
      group.userIds.add(userId);
      groups.set(key, group);
    }
    // Any spec of a group stands for all of them: loading needs only the app and the category they share.
    const loaded = new Map(await Promise.all([...groups].map(async ([key, g]) => [key, await loadRecipientsFor(this.deps.db.pool, g.spec, [...g.userIds])] as const)));
    return requests.map(({ spec, userId }) => loaded.get(`${spec.appId}\0${spec.category ?? ''}`)!.get(userId));
  }
}

/** The deps with a writer of their own, as createNotification needs them. */
export function withWriter<D extends Omit<NotificationDeps, 'requestId'>>(deps: D, options?: WriterOptions): D & { writer: NotificationWriter } {
  return { ...deps, writer: new NotificationWriter(deps, options) };
}
