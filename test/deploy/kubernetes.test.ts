// The Kubernetes manifests under deploy/kubernetes/, read as a cluster would
// apply them (no cluster runs here): every pod's environment passes the
// configuration check the quorumd command runs, the member list names
// exactly the pods at the names the headless Service gives them, the probes
// ask the routes that mean liveness and "able to take part in quorum", the
// Service publishes pods before they are ready, and the PodDisruptionBudget
// keeps a quorum.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { checkEnv, parseListen } from '../../src/config.js';
import { quorumSize } from '../../src/core/index.js';

const dir = new URL('../../deploy/kubernetes/', import.meta.url);

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string } };
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  ports?: Array<{ name?: string; containerPort: number }>;
  env?: EnvVar[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: each kind has its own spec; the tests below read what they check
  spec: any;
}

const manifests: Manifest[] = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .flatMap((f) => parseAllDocuments(readFileSync(join(dir.pathname, f), 'utf8')).map((d) => d.toJS() as Manifest));

function only(kind: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0]!;
}

const sts = only('StatefulSet');
const service = only('Service');
const pdb = only('PodDisruptionBudget');
const pod = sts.spec.template as { metadata: { labels: Record<string, string> }; spec: { containers: Container[]; enableServiceLinks?: boolean } };
const container = pod.spec.containers.find((c) => c.name === 'quorumd')!;
const TEST_TOKEN = 'kubernetes-test-token-0123456789';

/** envOf is the environment the kubelet gives pod `podName`: downward API, the Secret (a test token), $(VAR) expansion. */
function envOf(podName: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const v of container.env ?? []) {
    if (v.valueFrom?.fieldRef) {
      if (v.valueFrom.fieldRef.fieldPath !== 'metadata.name') throw new Error(`unexpected fieldRef ${v.valueFrom.fieldRef.fieldPath}`);
      env[v.name] = podName;
    } else if (v.valueFrom?.secretKeyRef) {
      env[v.name] = TEST_TOKEN;
    } else {
      env[v.name] = (v.value ?? '').replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => env[name] ?? whole);
    }
  }
  return env;
}

/** The port a probe or the Service names, as a number. */
function portOf(port: string | number): number | undefined {
  return typeof port === 'number' ? port : container.ports?.find((p) => p.name === port)?.containerPort;
}

const podNames = Array.from({ length: sts.spec.replicas as number }, (_, i) => `${sts.metadata.name}-${i}`);

for (const name of podNames) {
  t.test(`pod ${name}: its environment passes the configuration check`, async (t) => {
    const result = checkEnv(envOf(name));
    t.ok(result.ok, result.ok ? 'valid' : `problems: ${result.problems.join('; ')}`);
    if (!result.ok) return;
    t.equal(result.config.id, name, 'the node id is the pod name');
    t.equal(result.config.token, TEST_TOKEN, 'the token comes from the Secret');
    const self = result.config.members.find((m) => m.id === name);
    t.equal(self?.url, result.config.url, 'it advertises its own entry in the member list');
    t.ok(
      container.volumeMounts?.some(
        (m) => m.mountPath === result.config.dataDir && sts.spec.volumeClaimTemplates.some((c: Manifest) => c.metadata.name === m.name),
      ),
      'the data folder is a volume of its own',
    );
  });
}

t.test('the member list names exactly the pods, at the names the headless Service gives them', async (t) => {
  const env = envOf(podNames[0]!);
  const listen = parseListen(env.QUORUMD_LISTEN ?? '');
  t.ok(listen, 'the listen address parses');
  const members = JSON.parse(env.QUORUMD_MEMBERS ?? '[]') as Array<{ id: string; url: string }>;
  t.strictSame(
    members.map((m) => [m.id, m.url]),
    podNames.map((p) => [p, `http://${p}.${service.metadata.name}:${listen?.port}`]),
  );
  t.equal(sts.spec.serviceName, service.metadata.name, 'the StatefulSet names the Service');
  t.equal(sts.spec.podManagementPolicy, 'Parallel', "all pods start at once: a new cluster's first election waits for every voter");
  t.equal(portOf('http'), listen?.port, 'the container port is the one the node listens on');
});

t.test('the headless Service publishes pods before they are ready, on the port the node listens on', async (t) => {
  t.equal(service.spec.clusterIP, 'None', 'headless');
  t.equal(service.spec.publishNotReadyAddresses, true);
  t.strictSame(service.spec.selector, sts.spec.selector.matchLabels, 'it selects the pods');
  t.match(pod.metadata.labels, service.spec.selector, 'which carry those labels');
  t.equal(portOf(service.spec.ports[0].targetPort), parseListen(envOf(podNames[0]!).QUORUMD_LISTEN ?? '')?.port);
});

t.test('liveness asks /healthz and readiness /readyz, routes the API serves with those meanings', async (t) => {
  const doc = JSON.parse(readFileSync(new URL('../../openapi.json', import.meta.url), 'utf8')) as {
    paths: Record<string, Record<string, { operationId?: string; tags?: string[] }>>;
  };
  const probes = { startupProbe: 'healthz', livenessProbe: 'healthz', readinessProbe: 'readyz' } as const;
  for (const [probe, operationId] of Object.entries(probes)) {
    const get = container[probe as keyof typeof probes]?.httpGet;
    t.ok(get, `${probe} is an HTTP GET`);
    if (!get) continue;
    const op = doc.paths[get.path]?.get;
    t.equal(op?.operationId, operationId, `${probe} asks ${get.path}, the ${operationId} operation`);
    t.strictSame(op?.tags, ['health'], `${get.path} is a health probe`);
    t.equal(portOf(get.port), portOf('http'), `${probe} asks the node's port`);
  }
});

t.test('the PodDisruptionBudget keeps a quorum of the members ready', async (t) => {
  const members = JSON.parse(envOf(podNames[0]!).QUORUMD_MEMBERS ?? '[]') as unknown[];
  t.equal(members.length, podNames.length, 'one member per replica');
  t.equal(pdb.spec.minAvailable, quorumSize(members.length), 'minAvailable is the quorum');
  t.strictSame(pdb.spec.selector.matchLabels, sts.spec.selector.matchLabels, 'it counts the quorumd pods');
});

t.test('the manifests hold no token, and the pods get no service link variables', async (t) => {
  for (const v of container.env ?? []) {
    t.notOk(v.name.includes('TOKEN') && v.value !== undefined, `${v.name} is not written in the manifest`);
  }
  t.equal(pod.spec.enableServiceLinks, false, 'no service link variables in the environment');
  t.equal(
    manifests
      .map((m) => m.kind)
      .sort()
      .join(' '),
    'PodDisruptionBudget Service StatefulSet',
    'the StatefulSet, its headless Service and its PodDisruptionBudget',
  );
});
