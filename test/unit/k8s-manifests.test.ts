/**
 * docker/k8s/ is not applied to a cluster here (these machines have none):
 * this test parses the manifests and checks what ties them together, the
 * mistakes that would otherwise only show on a cluster: selectors that
 * match their pods (and only them), Services whose target ports are named
 * container ports, probes on /healthz and /readyz at the port the server
 * listens on, the NATS address the workers and gateway dial being the NATS
 * Service's, JetStream on a persistent volume, ConfigMaps that exist, and a
 * worker config that our own config schema accepts.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/config/index.js';
import { REPO_ROOT } from '../helpers/service.js';

const DIR = path.join(REPO_ROOT, 'docker/k8s');

/** The parts of a manifest this test reads (YAML is untyped: a missing part fails in `must`). */
interface Port {
  name?: string;
  port?: number;
  containerPort?: number;
  targetPort?: string | number;
}
interface Probe {
  httpGet: { path: string; port: string | number };
}
interface Container {
  args: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
  ports?: Port[];
  volumeMounts?: Array<{ name: string; mountPath: string }>;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
}
interface PodSpec {
  containers: Container[];
  volumes?: Array<{ name: string; configMap?: { name: string } }>;
  terminationGracePeriodSeconds?: number;
}
interface Doc {
  apiVersion?: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec?: {
    replicas?: number;
    serviceName?: string;
    clusterIP?: string;
    /** A Service's selector is the labels; a workload's has them under matchLabels. */
    selector?: Record<string, string> & { matchLabels?: Record<string, string> };
    ports?: Port[];
    template?: { metadata: { labels: Record<string, string> }; spec: PodSpec };
    volumeClaimTemplates?: Array<{ metadata: { name: string } }>;
  };
}

function must<T>(v: T | undefined | null, what: string): T {
  if (v === undefined || v === null) throw new Error(`docker/k8s/: ${what} is missing`);
  return v;
}

function load(): Doc[] {
  const kustomization = parseAllDocuments(readFileSync(path.join(DIR, 'kustomization.yaml'), 'utf8'))[0]?.toJS() as { resources: string[] };
  const files = kustomization.resources;
  // Every manifest in the folder is listed (one left out would silently not be applied).
  expect([...files].sort()).toEqual(readdirSync(DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort());
  return files.flatMap((f) =>
    parseAllDocuments(readFileSync(path.join(DIR, f), 'utf8')).map((d) => {
      expect(d.errors, f).toEqual([]);
      return d.toJS() as Doc;
    }),
  );
}

const docs = load();
const find = (kind: string, name: string | undefined): Doc => must(docs.find((x) => x.kind === kind && x.metadata.name === name), `${kind} ${name}`);
const matches = (selector: Record<string, string>, labels: Record<string, string>): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v);
const podsOf = (selector: Record<string, string>): Doc[] => docs.filter((d) => d.spec?.template && matches(selector, d.spec.template.metadata.labels));
const containerPort = (c: Container, port: string | number | undefined): number | undefined => (typeof port === 'number' ? port : c.ports?.find((p) => p.name === port)?.containerPort);
const podSpec = (d: Doc): PodSpec => must(d.spec?.template?.spec, `${d.metadata.name}'s pod template`);
const container = (d: Doc): Container => must(podSpec(d).containers[0], `${d.metadata.name}'s container`);
const mountOf = (c: Container, volume: string): string => must(c.volumeMounts?.find((m) => m.name === volume), `a mount of ${volume}`).mountPath;
const configData = (name: string, key: string): string => must(find('ConfigMap', name).data?.[key], `ConfigMap ${name} key ${key}`);

describe('docker/k8s manifests (parsed, not applied to a cluster)', () => {
  it('every object has apiVersion, kind and a unique name; every workload selects its own pods', () => {
    const keys = docs.map((d) => `${d.kind}/${d.metadata.name}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const d of docs) {
      expect(d.apiVersion, keys.join()).toBeTruthy();
      if (!d.spec?.template) continue;
      expect(matches(must(d.spec.selector?.matchLabels, `${d.metadata.name}'s selector`), d.spec.template.metadata.labels), d.metadata.name).toBe(true);
    }
  });

  it('NATS: a StatefulSet with JetStream on a persistent volume, behind the headless Service it names', () => {
    const sts = find('StatefulSet', 'nats');
    const svc = find('Service', sts.spec?.serviceName);
    expect(svc.spec?.clusterIP).toBe('None');
    expect(podsOf(must(svc.spec?.selector, 'the nats Service selector')).map((d) => d.metadata.name)).toEqual(['nats']);
    const c = container(sts);
    const client = must(svc.spec?.ports?.find((p) => p.name === 'client'), "the nats Service's client port");
    expect(containerPort(c, client.targetPort)).toBe(4222);
    // The server reads its config from the ConfigMap, which turns JetStream on with a store on the claimed volume.
    const cfgVolume = must(podSpec(sts).volumes?.find((v) => v.configMap), "nats's config volume");
    const conf = configData(must(cfgVolume.configMap, 'configMap').name, 'nats.conf');
    expect(c.args).toEqual(['-c', `${mountOf(c, cfgVolume.name)}/nats.conf`]);
    const store = must(/jetstream\s*\{[^}]*store_dir:\s*(\S+)/.exec(conf)?.[1], 'jetstream store_dir in nats.conf');
    const claim = must(sts.spec?.volumeClaimTemplates?.[0], "nats's volume claim").metadata.name;
    expect(store.startsWith(`${mountOf(c, claim)}/`)).toBe(true);
    expect(Number(/^port:\s*(\d+)/m.exec(conf)?.[1])).toBe(4222);
    const monitor = Number(/http_port:\s*(\d+)/.exec(conf)?.[1]);
    for (const probe of [c.livenessProbe, c.readinessProbe]) expect(containerPort(c, must(probe, "a nats probe").httpGet.port)).toBe(monitor);
  });

  describe.each([
    ['neulens-worker', 'serve'],
    ['neulens-gateway', 'gateway'],
  ])('%s', (name, command) => {
    const dep = find('Deployment', name);
    const c = container(dep);
    const configVolume = must(podSpec(dep).volumes?.find((v) => v.configMap), `${name}'s config volume`);
    const configDir = mountOf(c, configVolume.name);
    const configArg = must(c.args[c.args.indexOf('--config') + 1], `${name}'s --config`);
    const text = configData(must(configVolume.configMap, 'configMap').name, path.basename(configArg));
    // The Downward API's values, as a pod would have them.
    const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? 'pod-name-abc12']));
    const config = parseConfig(text, configArg, env);

    it(`runs \`neulens ${command} --config <mounted ConfigMap> --fleet nats://<the NATS Service>\``, () => {
      expect(c.args[0]).toBe(command);
      expect(path.dirname(configArg)).toBe(configDir);
      const url = new URL(must(c.args[c.args.indexOf('--fleet') + 1], `${name}'s --fleet`));
      const nats = find('Service', url.hostname);
      expect(nats.spec?.ports?.map((p) => p.port)).toContain(Number(url.port));
      expect(config.fleet?.url).toBe(url.toString().replace(/\/$/, ''));
      // Each pod's instance id is its name (the Downward API), which the config schema accepts.
      expect(c.env?.find((e) => e.name === 'POD_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
    });

    it('probes /healthz and /readyz on the port its config listens on, on every interface', () => {
      expect(config.server.host).toBe('0.0.0.0');
      expect(c.livenessProbe?.httpGet.path).toBe('/healthz');
      expect(c.readinessProbe?.httpGet.path).toBe('/readyz');
      for (const p of [c.livenessProbe, c.readinessProbe, c.startupProbe]) if (p) expect(containerPort(c, p.httpGet.port)).toBe(config.server.port);
    });
  });

  it('workers: several replicas of the same pods, with time to release their leases on SIGTERM', () => {
    const dep = find('Deployment', 'neulens-worker');
    expect(dep.spec?.replicas).toBeGreaterThanOrEqual(2);
    const parsed = parseConfig(configData('neulens-config', 'fleet.yaml'), 'fleet.yaml', { POD_NAME: 'neulens-worker-5d8f-x2k9q' });
    expect(parsed.fleet?.instance).toBe('neulens-worker-5d8f-x2k9q');
    // The grace period outlasts a lease: stopping cameras and deleting leases never gets cut short by SIGKILL.
    expect(must(podSpec(dep).terminationGracePeriodSeconds, 'terminationGracePeriodSeconds') * 1000).toBeGreaterThan(must(parsed.fleet, 'fleet').leaseTtlMs);
    expect(parsed.cameras.length).toBeGreaterThan(0);
  });

  it('the gateway Service selects the gateway pods only, at their http port', () => {
    const svc = find('Service', 'neulens-gateway');
    expect(podsOf(must(svc.spec?.selector, 'the gateway selector')).map((d) => d.metadata.name)).toEqual(['neulens-gateway']);
    const c = container(find('Deployment', 'neulens-gateway'));
    expect(containerPort(c, svc.spec?.ports?.[0]?.targetPort)).toBe(8080);
  });
});
