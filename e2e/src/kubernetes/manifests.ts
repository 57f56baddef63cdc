// Reads deploy/kubernetes offline: every YAML document, each object validated against the published Kubernetes and
// KEDA schemas (kubernetes-models), and the kustomizations built the way `kubectl apply -k` would, for the subset of
// Kustomize they use (anything else is refused, so a new field cannot pass unchecked).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import * as keda from '@kubernetes-models/keda/keda.sh/v1alpha1';
import * as core from 'kubernetes-models/v1';
import * as apps from 'kubernetes-models/apps/v1';
import * as autoscaling from 'kubernetes-models/autoscaling/v2';
import * as batch from 'kubernetes-models/batch/v1';
import * as policy from 'kubernetes-models/policy/v1';
import { parseAllDocuments } from 'yaml';

export const MANIFESTS = path.resolve(import.meta.dirname, '../../../deploy/kubernetes');

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

type Model = { apiVersion?: unknown; kind?: unknown; new (data: object): { validate(): void } };

/** `apiVersion/kind` -> its model class, for every kind of the API groups the manifests may use. */
const MODELS = new Map<string, Model>();
for (const group of [core, apps, autoscaling, batch, policy, keda]) {
  for (const value of Object.values(group) as Model[]) {
    if (typeof value === 'function' && typeof value.apiVersion === 'string' && typeof value.kind === 'string') MODELS.set(`${value.apiVersion}/${value.kind}`, value);
  }
}

const KUSTOMIZATION = 'kustomize.config.k8s.io/v1beta1/Kustomization';
/** Object names become DNS labels (Services, pods' host names): lower case, digits and '-', at most 63. */
const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Throws naming the problem when the object is of an unknown kind, breaks its schema or has a name the API server refuses. */
export function validateObject(object: K8sObject): void {
  const id = `${object.apiVersion}/${object.kind}`;
  const model = MODELS.get(id);
  if (!model) throw new Error(`${id} ${object.metadata?.name}: unknown kind (no schema to check it against)`);
  new model(object).validate();
  if (!DNS_LABEL.test(object.metadata.name)) throw new Error(`${id} ${object.metadata.name}: not a valid object name (a DNS label)`);
}

/** Every YAML file under deploy/kubernetes, relative to it. */
export function manifestFiles(dir = MANIFESTS): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
}

/** The documents of one YAML file (empty ones skipped); a syntax error or duplicate key throws. */
export function readDocuments(file: string): K8sObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
    const value = doc.toJS() as K8sObject | null;
    return value === null ? [] : [value];
  });
}

export const isKustomization = (object: K8sObject) => `${object.apiVersion}/${object.kind}` === KUSTOMIZATION;

interface PatchOp {
  op: 'add' | 'replace' | 'remove';
  path: string;
  value?: unknown;
}
interface Kustomization extends K8sObject {
  resources?: string[];
  namespace?: string;
  images?: { name: string; newName?: string; newTag?: string }[];
  patches?: { target: { kind: string; name: string }; patch: string }[];
}
const KUSTOMIZATION_FIELDS = new Set(['apiVersion', 'kind', 'metadata', 'resources', 'namespace', 'images', 'patches']);

function readKustomization(dir: string): Kustomization {
  const file = path.join(dir, 'kustomization.yaml');
  const [k, ...more] = readDocuments(file) as Kustomization[];
  if (!k || more.length > 0 || !isKustomization(k)) throw new Error(`${file}: must hold exactly one Kustomization`);
  const unknown = Object.keys(k).filter((f) => !KUSTOMIZATION_FIELDS.has(f));
  if (unknown.length > 0) throw new Error(`${file}: fields this check does not build: ${unknown.join(', ')}`);
  for (const resource of k.resources ?? []) {
    const target = path.join(dir, resource);
    if (!existsSync(target)) throw new Error(`${file}: resource ${resource} does not exist`);
    if (statSync(target).isDirectory() && !existsSync(path.join(target, 'kustomization.yaml'))) throw new Error(`${file}: ${resource} has no kustomization.yaml`);
  }
  return k;
}

/** The files a kustomization (and the ones it includes) applies, absolute. */
export function kustomizationFiles(dir: string): string[] {
  return (readKustomization(dir).resources ?? []).flatMap((r) => {
    const target = path.join(dir, r);
    return statSync(target).isDirectory() ? kustomizationFiles(target) : [target];
  });
}

/** RFC 6902 add/replace/remove on a JSON pointer, as Kustomize's patches do (a missing parent, or a missing member to replace, throws). */
function applyPatch(object: K8sObject, op: PatchOp): void {
  const keys = op.path
    .split('/')
    .slice(1)
    .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = keys.pop();
  let parent: unknown = object;
  for (const key of keys) parent = (parent as Record<string, unknown> | undefined)?.[key];
  if (last === undefined || typeof parent !== 'object' || parent === null) throw new Error(`${object.kind} ${object.metadata.name}: no ${op.path} to patch`);
  const at = parent as Record<string, unknown>;
  if (op.op !== 'add' && !(last in at)) throw new Error(`${object.kind} ${object.metadata.name}: no ${op.path} to ${op.op}`);
  if (Array.isArray(at) && op.op !== 'replace') {
    const index = last === '-' ? at.length : Number(last);
    if (op.op === 'add') at.splice(index, 0, op.value);
    else at.splice(index, 1);
  } else if (op.op === 'remove') delete at[last];
  else at[last] = op.value;
}

/** The objects `kubectl apply -k dir` would send: resources, then patches, images and namespace. */
export function build(dir: string): K8sObject[] {
  const k = readKustomization(dir);
  const objects = (k.resources ?? []).flatMap((r) => {
    const target = path.join(dir, r);
    return statSync(target).isDirectory() ? build(target) : readDocuments(target);
  });
  for (const { target, patch } of k.patches ?? []) {
    const matches = objects.filter((o) => o.kind === target.kind && o.metadata.name === target.name);
    if (matches.length !== 1) throw new Error(`${dir}: patch target ${target.kind} ${target.name} matches ${matches.length} objects`);
    for (const op of readPatch(patch)) applyPatch(matches[0]!, op);
  }
  for (const image of k.images ?? []) {
    const containers = objects.flatMap((o) => podSpec(o)?.containers ?? []).filter((c) => c.image?.split(':')[0] === image.name);
    if (containers.length === 0) throw new Error(`${dir}: image ${image.name} is used by no container`);
    for (const c of containers) c.image = `${image.newName ?? image.name}:${image.newTag ?? c.image!.split(':')[1] ?? 'latest'}`;
  }
  if (k.namespace) for (const o of objects) if (o.kind !== 'Namespace') o.metadata.namespace = k.namespace;
  return objects;
}

function readPatch(patch: string): PatchOp[] {
  const [doc, ...more] = parseAllDocuments(patch);
  const ops = doc?.toJS() as PatchOp[] | undefined;
  if (!Array.isArray(ops) || more.length > 0) throw new Error(`not a JSON 6902 patch: ${patch}`);
  return ops;
}

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds: number } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
}
export interface Probe {
  httpGet?: { path?: string; port: number | string };
}
export interface PodSpec {
  containers: Container[];
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
}

/** The pod template's spec of a Deployment or Job; undefined for other kinds. */
export function podSpec(object: K8sObject): PodSpec | undefined {
  if (object.kind !== 'Deployment' && object.kind !== 'Job') return undefined;
  return (object.spec as { template: { spec: PodSpec } }).template.spec;
}
