// What the schemas cannot see: that the manifests fit this service (its settings, the ports and paths its processes
// serve, its shutdown grace, one autoscaled worker Deployment per channel) and each other (selectors, targets).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { CHANNELS, Env, QUEUE, isChannel, type Channel } from '@notify/core/platform';
import type { Container, K8sObject, PodSpec, Probe } from './manifests.js';
import { podSpec } from './manifests.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');

/** The scripts a container may run, by path in the image, with the probes each serves and the setting of its port. */
export const PROCESSES: Record<string, { liveness?: string; readiness?: string; port?: string }> = {
  'apps/api/dist/main.js': { liveness: '/health', readiness: '/ready', port: 'PORT' },
  'apps/worker/dist/main.js': { liveness: '/health', readiness: '/ready', port: 'WORKER_HTTP_PORT' },
  'packages/core/dist/cli/migrate.js': {},
};
const WORKER = 'apps/worker/dist/main.js';

/**
 * What KEDA scales a channel's workers on: the jobs waiting in its queue, from the API's notify_queue_jobs gauge
 * (name and labels asserted by apps/api/src/routes/security.int.test.ts and e2e/src/operations.e2e.test.ts). Every
 * API replica reports the same Redis counts, hence max over replicas per state.
 */
export const backlogQuery = (channel: Channel) => `sum(max by (state) (notify_queue_jobs{queue="${QUEUE[channel]}", state=~"waiting|prioritized"}))`;

/** Seconds Kubernetes waits after SIGTERM when the pod does not say. */
const DEFAULT_GRACE_SECONDS = 30;

interface ScaledObject extends K8sObject {
  spec: { scaleTargetRef: { name: string }; minReplicaCount?: number; triggers: { type: string; metadata: Record<string, string> }[] };
}
type Selector = { matchLabels?: Record<string, string> } | Record<string, string>;

const named = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
const labelsOf = (selector: Selector | undefined) => (selector && 'matchLabels' in selector ? selector.matchLabels : selector) as Record<string, string> | undefined;
const podLabels = (o: K8sObject) => (o.spec as { template: { metadata?: { labels?: Record<string, string> } } }).template.metadata?.labels ?? {};
const selects = (selector: Selector | undefined, labels: Record<string, string>) => {
  const want = Object.entries(labelsOf(selector) ?? {});
  return want.length > 0 && want.every(([k, v]) => labels[k] === v);
};

/** Every problem found in a built set of objects; empty when the deployment fits the service. */
export function problems(objects: K8sObject[]): string[] {
  const found: string[] = [];
  const settings = new Set(Object.keys(Env.shape));
  const workloads = objects.filter((o) => podSpec(o));
  const deployments = named(objects, 'Deployment');

  // Settings: every ConfigMap and Secret is read through envFrom, so each of their keys is an environment variable.
  const sources = objects.filter((o) => o.kind === 'ConfigMap' || o.kind === 'Secret');
  for (const source of sources) {
    for (const key of Object.keys(sourceData(source))) if (!settings.has(key)) found.push(`${source.kind} ${source.metadata.name}: ${key} is not a setting of the service (Env)`);
    const used = workloads.some((w) => podSpec(w)!.containers.some((c) => c.envFrom?.some((e) => (e.configMapRef ?? e.secretRef)?.name === source.metadata.name)));
    if (!used) found.push(`${source.kind} ${source.metadata.name}: no container reads it (envFrom)`);
  }

  for (const workload of workloads) {
    const spec = podSpec(workload)!;
    for (const container of spec.containers) {
      const where = `${workload.kind} ${workload.metadata.name}, container ${container.name}`;
      found.push(...containerProblems(where, workload.kind, spec, container, sources, settings));
    }
    if (!spec.securityContext?.runAsNonRoot || !spec.securityContext.runAsUser) found.push(`${workload.kind} ${workload.metadata.name}: not runAsNonRoot with a numeric runAsUser`);
  }

  for (const d of deployments) {
    const selector = (d.spec as { selector: Selector }).selector;
    if (!selects(selector, podLabels(d))) found.push(`Deployment ${d.metadata.name}: its selector does not match its pod labels`);
    const autoscaled = [...named(objects, 'HorizontalPodAutoscaler'), ...named(objects, 'ScaledObject')].some(
      (a) => (a.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name === d.metadata.name,
    );
    if (!autoscaled) found.push(`Deployment ${d.metadata.name}: no HorizontalPodAutoscaler or ScaledObject scales it`);
    if (!named(objects, 'PodDisruptionBudget').some((p) => selects((p.spec as { selector: Selector }).selector, podLabels(d)))) {
      found.push(`Deployment ${d.metadata.name}: no PodDisruptionBudget covers it`);
    }
  }
  for (const o of [...named(objects, 'Service'), ...named(objects, 'PodDisruptionBudget')]) {
    const selector = (o.spec as { selector: Selector }).selector;
    if (!deployments.some((d) => selects(selector, podLabels(d)))) found.push(`${o.kind} ${o.metadata.name}: selects no Deployment's pods`);
  }
  for (const hpa of named(objects, 'HorizontalPodAutoscaler')) {
    const target = deployments.find((d) => d.metadata.name === (hpa.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name);
    if (!target) found.push(`HorizontalPodAutoscaler ${hpa.metadata.name}: its target is no Deployment here`);
    else if (podSpec(target)!.containers.some((c) => !c.resources?.requests?.cpu))
      found.push(`HorizontalPodAutoscaler ${hpa.metadata.name}: scales on CPU but ${target.metadata.name} requests none`);
  }
  found.push(...channelProblems(deployments, named(objects, 'ScaledObject') as ScaledObject[]));
  return found;
}

function sourceData(source: K8sObject): Record<string, string> {
  const data = Object.entries((source.data ?? {}) as Record<string, string>).map(([k, v]) => [k, source.kind === 'Secret' ? Buffer.from(v, 'base64').toString() : v]);
  return { ...Object.fromEntries(data), ...((source.stringData ?? {}) as Record<string, string>) };
}

function containerProblems(where: string, kind: string, spec: PodSpec, c: Container, sources: K8sObject[], settings: Set<string>): string[] {
  const found: string[] = [];
  // The environment the process sees: envFrom sources in order (the last wins), then env.
  const values: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    const ref = from.configMapRef ? { kind: 'ConfigMap', name: from.configMapRef.name } : { kind: 'Secret', name: from.secretRef?.name };
    const source = sources.find((s) => s.kind === ref.kind && s.metadata.name === ref.name);
    if (source) Object.assign(values, sourceData(source));
    else found.push(`${where}: envFrom ${ref.kind} ${ref.name} does not exist`);
  }
  for (const e of c.env ?? []) {
    if (!settings.has(e.name)) found.push(`${where}: ${e.name} is not a setting of the service (Env)`);
    if (e.value !== undefined) values[e.name] = e.value;
  }
  const parsed = Env.safeParse(values);
  if (!parsed.success) return [...found, `${where}: invalid settings: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`];
  const env: Record<string, unknown> = parsed.data;

  const [node, script, ...args] = c.command ?? [];
  const served = script === undefined ? undefined : PROCESSES[script];
  if (node !== 'node' || !served) return [...found, `${where}: runs ${JSON.stringify(c.command)}, none of ${Object.keys(PROCESSES).join(', ')}`];
  const source = path.join(ROOT, script!.replace('/dist/', '/src/').replace(/\.js$/, '.ts'));
  if (!existsSync(source)) found.push(`${where}: ${script} is built from no source file (${path.relative(ROOT, source)})`);
  if (script === WORKER && channelsOf(args).some((ch) => !isChannel(ch))) found.push(`${where}: unknown channel in ${args.join(' ')}`);

  if (served.port) {
    const port = env[served.port];
    if (typeof port !== 'number') found.push(`${where}: ${served.port}, the port it serves on, is not a setting of the service (Env)`);
    for (const [probe, expected] of [
      ['livenessProbe', served.liveness],
      ['readinessProbe', served.readiness],
    ] as const) {
      const get = c[probe]?.httpGet;
      if (!get || get.path !== expected) found.push(`${where}: ${probe} must GET ${expected}, not ${get?.path}`);
      else if (portNumber(c, get) !== port) found.push(`${where}: ${probe} aims at port ${get.port}, the process serves on ${served.port}=${port}`);
    }
  }
  if (kind === 'Deployment') {
    const grace = spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS;
    const needed = Number(env.SHUTDOWN_GRACE_SECONDS) + (c.lifecycle?.preStop?.sleep?.seconds ?? 0);
    if (grace <= needed) found.push(`${where}: terminationGracePeriodSeconds ${grace} is not above SHUTDOWN_GRACE_SECONDS + preStop (${needed})`);
  }
  if (!c.resources?.requests?.cpu || !c.resources.requests.memory || !c.resources.limits?.memory) found.push(`${where}: needs cpu and memory requests and a memory limit`);
  if (c.securityContext?.readOnlyRootFilesystem !== true || c.securityContext.allowPrivilegeEscalation !== false) {
    found.push(`${where}: needs readOnlyRootFilesystem: true and allowPrivilegeEscalation: false`);
  }
  return found;
}

/** A probe's port as a number: itself, or the container port of that name. */
function portNumber(c: Container, get: NonNullable<Probe['httpGet']>): number | undefined {
  return typeof get.port === 'number' ? get.port : c.ports?.find((p) => p.name === get.port)?.containerPort;
}

/** The channels on a worker's command line (`--channel email`, `--channel=email,sms`, `email sms`), as the worker reads them. */
const channelsOf = (args: string[]) => args.filter((a) => a !== '--channel').flatMap((a) => a.replace(/^--channel=/, '').split(','));

function channelProblems(deployments: K8sObject[], scaledObjects: ScaledObject[]): string[] {
  const found: string[] = [];
  for (const channel of CHANNELS) {
    const workers = deployments.filter((d) => podSpec(d)!.containers.some((c) => c.command?.[1] === WORKER && channelsOf(c.command.slice(2)).includes(channel)));
    if (workers.length !== 1) {
      found.push(`channel ${channel}: ${workers.length} worker Deployments serve it, not one`);
      continue;
    }
    const name = workers[0]!.metadata.name;
    const scalers = scaledObjects.filter((s) => s.spec.scaleTargetRef.name === name);
    const trigger = scalers[0]?.spec.triggers[0];
    if (scalers.length !== 1 || scalers[0]!.spec.triggers.length !== 1) found.push(`channel ${channel}: Deployment ${name} needs exactly one ScaledObject with one trigger`);
    else if (trigger?.type !== 'prometheus' || trigger.metadata.query !== backlogQuery(channel)) {
      found.push(`channel ${channel}: ScaledObject ${scalers[0]!.metadata.name} must scale on Prometheus: ${backlogQuery(channel)}`);
    } else if (!(Number(trigger.metadata.threshold) > 0) || !((scalers[0]!.spec.minReplicaCount ?? 0) >= 1)) {
      found.push(`channel ${channel}: ScaledObject ${scalers[0]!.metadata.name} needs a threshold above 0 and minReplicaCount of at least 1`);
    }
  }
  return found;
}
