import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { backlogQuery, problems } from './checks.js';
import { build, isKustomization, kustomizationFiles, MANIFESTS, manifestFiles, podSpec, readDocuments, validateObject, type K8sObject } from './manifests.js';

const BUILDS = ['base', 'overlays/production'];
const base = () => build(path.join(MANIFESTS, 'base'));
const find = (objects: K8sObject[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name)!;
const container = (objects: K8sObject[], kind: string, name: string) => podSpec(find(objects, kind, name))!.containers[0]!;

describe('deploy/kubernetes', () => {
  it('every YAML document parses and validates against its Kubernetes or KEDA schema', () => {
    const files = manifestFiles();
    expect(files).toContain('base/kustomization.yaml');
    let objects = 0;
    for (const file of files) {
      for (const doc of readDocuments(path.join(MANIFESTS, file))) {
        if (isKustomization(doc)) kustomizationFiles(path.dirname(path.join(MANIFESTS, file)));
        else validateObject(doc);
        objects += 1;
      }
    }
    // 2 kustomizations, ConfigMap, 2 Secrets, Job, API (4), 5 channels x 3, Namespace.
    expect(objects).toBe(26);
  });

  it('every manifest file is applied by a kustomization', () => {
    const applied = new Set(BUILDS.flatMap((dir) => kustomizationFiles(path.join(MANIFESTS, dir))));
    const unapplied = manifestFiles()
      .filter((f) => path.basename(f) !== 'kustomization.yaml')
      .filter((f) => !applied.has(path.join(MANIFESTS, f)));
    expect(unapplied).toEqual([]);
  });

  it.each(BUILDS)('%s builds into valid objects that fit the service', (dir) => {
    const objects = build(path.join(MANIFESTS, dir));
    for (const object of objects) validateObject(object);
    expect(problems(objects)).toEqual([]);
  });

  it('the production overlay pins one image everywhere, sets a namespace and resizes', () => {
    const objects = build(path.join(MANIFESTS, 'overlays/production'));
    const images = new Set(objects.flatMap((o) => podSpec(o)?.containers.map((c) => c.image) ?? []));
    expect([...images]).toEqual(['registry.example.com/notify:1.0.0']);
    expect(objects.filter((o) => o.kind !== 'Namespace' && o.metadata.namespace !== 'notify')).toEqual([]);
    expect(container(objects, 'Deployment', 'notify-api').resources?.requests?.cpu).toBe('500m');
    expect(find(objects, 'ConfigMap', 'notify-config').data).toMatchObject({ EMAIL_PROVIDERS: 'smtp', TRUST_PROXY_HOPS: '1' });
  });
});

describe('the manifest checks catch', () => {
  it('an object its schema refuses, a kind with no schema and a name the API server refuses', () => {
    const api = find(base(), 'Deployment', 'notify-api');
    const { selector: _, ...spec } = api.spec as Record<string, unknown>;
    expect(() => validateObject({ ...api, spec })).toThrow(/must have required property selector/);
    const port = structuredClone(api);
    container([port], 'Deployment', 'notify-api').ports![0]!.containerPort = '3000' as unknown as number;
    expect(() => validateObject(port)).toThrow(/containerPort must be integer/);
    expect(() => validateObject({ apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'notify' } })).toThrow(/unknown kind/);
    expect(() => validateObject({ ...api, metadata: { name: 'notify-worker-in_app' } })).toThrow(/not a valid object name/);
    const scaled = find(base(), 'ScaledObject', 'notify-worker-email');
    expect(() => validateObject({ ...scaled, spec: { triggers: [] } })).toThrow(/must have required property scaleTargetRef/);
  });

  it('a setting the service does not have, or a value it refuses', () => {
    const objects = base();
    find(objects, 'ConfigMap', 'notify-config').data = { ...(find(objects, 'ConfigMap', 'notify-config').data as object), EMAIL_PROVIDER: 'smtp', PORT: 'http' };
    container(objects, 'Deployment', 'notify-worker-sms').env = [{ name: 'SMS_CONCURENCY', value: '5' }];
    const found = problems(objects).join('\n');
    expect(found).toContain('ConfigMap notify-config: EMAIL_PROVIDER is not a setting of the service');
    expect(found).toContain('container worker: SMS_CONCURENCY is not a setting of the service');
    expect(found).toMatch(/Deployment notify-api, container api: invalid settings: PORT: /);
  });

  it('probes aimed at the wrong path or port, and a grace period the shutdown does not fit in', () => {
    const objects = base();
    container(objects, 'Deployment', 'notify-api').readinessProbe = { httpGet: { path: '/health', port: 'http' } };
    container(objects, 'Deployment', 'notify-worker-push').livenessProbe = { httpGet: { path: '/health', port: 3000 } };
    podSpec(find(objects, 'Deployment', 'notify-worker-webhook'))!.terminationGracePeriodSeconds = 25;
    podSpec(find(objects, 'Deployment', 'notify-api'))!.terminationGracePeriodSeconds = 30;
    expect(problems(objects)).toEqual([
      'Deployment notify-api, container api: readinessProbe must GET /ready, not /health',
      'Deployment notify-api, container api: terminationGracePeriodSeconds 30 is not above SHUTDOWN_GRACE_SECONDS + preStop (30)',
      'Deployment notify-worker-push, container worker: livenessProbe aims at port 3000, the process serves on WORKER_HTTP_PORT=3001',
      'Deployment notify-worker-webhook, container worker: terminationGracePeriodSeconds 25 is not above SHUTDOWN_GRACE_SECONDS + preStop (25)',
    ]);
  });

  it('a channel without its worker, a ScaledObject on the wrong queue, a command that is no process of the service', () => {
    const objects = base().filter((o) => o.metadata.name !== 'notify-worker-sms' || o.kind === 'PodDisruptionBudget');
    (find(objects, 'ScaledObject', 'notify-worker-push').spec as { triggers: { metadata: Record<string, string> }[] }).triggers[0]!.metadata.query = backlogQuery('email');
    container(objects, 'Job', 'notify-migrate').command = ['node', 'packages/core/dist/cli/migrations.js'];
    container(objects, 'Deployment', 'notify-worker-email').command = ['node', 'apps/worker/dist/main.js', '--channel', 'mail'];
    const found = problems(objects).join('\n');
    expect(found).toContain('PodDisruptionBudget notify-worker-sms: selects no Deployment');
    expect(found).toContain('channel sms: 0 worker Deployments serve it, not one');
    expect(found).toContain('channel email: 0 worker Deployments serve it');
    expect(found).toContain('notify-worker-email, container worker: unknown channel in --channel mail');
    expect(found).toContain(`channel push: ScaledObject notify-worker-push must scale on Prometheus: ${backlogQuery('push')}`);
    expect(found).toContain('Job notify-migrate, container migrate: runs ["node","packages/core/dist/cli/migrations.js"]');
  });

  it('a kustomization listing a missing file, patching a missing object or using a field the build does not know', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kustomize-'));
    try {
      mkdirSync(path.join(dir, 'overlay'));
      const baseDir = path.relative(path.join(dir, 'overlay'), path.join(MANIFESTS, 'base'));
      const write = (body: string) => writeFileSync(path.join(dir, 'overlay/kustomization.yaml'), `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n${body}`);
      write('resources: [gone.yaml]\n');
      expect(() => build(path.join(dir, 'overlay'))).toThrow(/resource gone.yaml does not exist/);
      write(`resources: [${baseDir}]\npatches:\n  - target: { kind: Deployment, name: notify-worker-fax }\n    patch: "[]"\n`);
      expect(() => build(path.join(dir, 'overlay'))).toThrow(/patch target Deployment notify-worker-fax matches 0 objects/);
      write(`resources: [${baseDir}]\npatches:\n  - target: { kind: Deployment, name: notify-api }\n    patch: "[{op: replace, path: /spec/replica, value: 3}]"\n`);
      expect(() => build(path.join(dir, 'overlay'))).toThrow(/Deployment notify-api: no \/spec\/replica to replace/);
      write('commonLabels: { team: notify }\n');
      expect(() => build(path.join(dir, 'overlay'))).toThrow(/fields this check does not build: commonLabels/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
