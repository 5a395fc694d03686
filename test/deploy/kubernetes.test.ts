// deploy/kubernetes/: every manifest checked offline against the Kubernetes schema (kubernetes-models),
// unknown fields included, then read as an operator would: probes on the service's real endpoints, a
// non-root read-only container, a termination grace period that covers the service's own shutdown grace,
// selectors that match, and a ConfigMap + Secret that the service's config schema accepts for production.

import { readdirSync } from 'node:fs';
import { loadConfig, shutdownGraceMs } from '../../src/config';
import { CONFIG_VARIABLES, readText, readYamlDocuments } from './files';
import { type KubeObject, typeCheckFields, validateWithSchema } from './kubernetes-schema';

const DIR = 'deploy/kubernetes';
const files = readdirSync(`${__dirname}/../../${DIR}`).filter((name) => /\.ya?ml$/.test(name));
const manifests = files
  .filter((name) => name !== 'kustomization.yaml')
  .flatMap((file) =>
    readYamlDocuments(`${DIR}/${file}`).map((object) => ({ file, object: object as KubeObject })),
  );

function find<T = Record<string, unknown>>(kind: string, file?: string): T {
  const found = manifests.find((m) => m.object.kind === kind && (file === undefined || m.file === file));
  if (!found) throw new Error(`no ${kind} in ${DIR}`);
  return found.object as unknown as T;
}

interface Probe {
  httpGet?: { path: string; port: number | string };
  periodSeconds?: number;
  failureThreshold?: number;
}
interface Container {
  name: string;
  image: string;
  ports: { name: string; containerPort: number }[];
  envFrom: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  livenessProbe: Probe;
  readinessProbe: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext: Record<string, unknown> & { capabilities?: { drop?: string[] } };
}
interface Deployment {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    strategy: { rollingUpdate: { maxUnavailable: number } };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        terminationGracePeriodSeconds: number;
        automountServiceAccountToken: boolean;
        securityContext: Record<string, unknown>;
        containers: Container[];
        volumes?: unknown[];
      };
    };
  };
}

const deployment = find<Deployment>('Deployment');
const pod = deployment.spec.template;
const container = pod.spec.containers[0] as Container;
const configMap = find<{ metadata: { name: string }; data: Record<string, string> }>('ConfigMap');
const secret = find<{ metadata: { name: string }; stringData: Record<string, string> }>(
  'Secret',
  'secret.example.yaml',
);
const config = loadConfig({ ...configMap.data, ...secret.stringData });

describe('the Kubernetes schema', () => {
  test('the folder has a Deployment, Service, PodDisruptionBudget, ConfigMap and an example Secret', () => {
    expect(manifests.map((m) => `${m.file}: ${m.object.apiVersion} ${m.object.kind}`).sort()).toEqual([
      'configmap.yaml: v1 ConfigMap',
      'deployment.yaml: apps/v1 Deployment',
      'poddisruptionbudget.yaml: policy/v1 PodDisruptionBudget',
      'secret.example.yaml: v1 Secret',
      'service.yaml: v1 Service',
    ]);
  });

  test.each(manifests.map((m) => [`${m.file} ${m.object.kind}`, m.object] as const))(
    '%s: required fields, types and formats',
    (_label, object) => {
      expect(() => validateWithSchema(object)).not.toThrow();
    },
  );

  test('no field the schema does not have, at any depth', () => {
    const problems = typeCheckFields(
      manifests.map((m) => ({ label: `${m.file} ${m.object.kind}`, object: m.object })),
    );
    expect(problems).toEqual([]);
  }, 60_000);

  test('the checks catch a typo, a wrong type and a missing field (they are not vacuous)', () => {
    const copy = () => JSON.parse(JSON.stringify(deployment)) as Deployment & KubeObject;
    const containerOf = (d: Deployment) =>
      d.spec.template.spec.containers[0] as unknown as Record<string, unknown>;
    const rename = (object: Record<string, unknown>, from: string, to: string) => {
      object[to] = object[from];
      delete object[from];
    };
    const typo = copy();
    rename(containerOf(typo), 'livenessProbe', 'livenesProbe');
    // Deep and subtle too: one letter's case in the container's securityContext.
    const subtle = copy();
    rename(
      containerOf(subtle).securityContext as Record<string, unknown>,
      'readOnlyRootFilesystem',
      'readOnlyRootFileSystem',
    );
    expect(
      typeCheckFields([
        { label: 'typo', object: typo },
        { label: 'subtle', object: subtle },
      ]),
    ).toEqual([
      expect.stringMatching(/^typo: .*livenesProbe.* does not exist in type 'IContainer'/),
      expect.stringMatching(/^subtle: .*readOnlyRootFileSystem.* does not exist in type 'ISecurityContext'/),
    ]);

    const wrongType = JSON.parse(JSON.stringify(deployment)) as KubeObject & { spec: { replicas: unknown } };
    wrongType.spec.replicas = 'two';
    expect(() => validateWithSchema(wrongType)).toThrow(/replicas must be integer/);

    const missing = JSON.parse(JSON.stringify(deployment)) as KubeObject & { spec: { selector?: unknown } };
    delete missing.spec.selector;
    expect(() => validateWithSchema(missing)).toThrow(/selector/);
  }, 60_000);

  test('kustomization.yaml applies every manifest except the example Secret, and only existing files', () => {
    const [kustomization] = readYamlDocuments(`${DIR}/kustomization.yaml`) as { resources: string[] }[];
    const expected = [...new Set(manifests.map((m) => m.file))].filter((f) => f !== 'secret.example.yaml');
    expect([...(kustomization?.resources ?? [])].sort()).toEqual(expected.sort());
  });
});

describe('the Deployment', () => {
  test('probes: liveness on /healthz, readiness on /readyz, on the port the service listens on', () => {
    const port = container.ports.find((p) => p.name === 'http');
    expect(port?.containerPort).toBe(config.PORT);
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.startupProbe?.httpGet?.path).toBe('/healthz');
  });

  test('terminationGracePeriodSeconds covers preStop plus the service shutdown grace, with a margin', () => {
    const grace = shutdownGraceMs(config) / 1000;
    const preStop = container.lifecycle?.preStop;
    const preStopSeconds = preStop?.sleep?.seconds ?? Number(preStop?.exec?.command.at(-1) ?? 0);
    expect(preStop?.exec?.command.slice(0, 1)).toEqual(['sleep']);
    const period = pod.spec.terminationGracePeriodSeconds;
    expect(period).toBeGreaterThanOrEqual(preStopSeconds + grace + 1);
    expect(period).toBeLessThanOrEqual(preStopSeconds + grace + 15);
  });

  test('runs as the image user, non-root, read-only, no privilege escalation, no capabilities', () => {
    expect(pod.spec.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(readText('Dockerfile')).toMatch(/^USER 1000:1000$/m);
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      privileged: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.spec.automountServiceAccountToken).toBe(false);
  });

  test('requests CPU and memory, and caps memory above the measured footprint', () => {
    const mebibytes = (text = '') => Number(/^(\d+)Mi$/.exec(text)?.[1] ?? Number.NaN);
    expect(container.resources.requests?.cpu).toMatch(/^\d+m$/);
    expect(mebibytes(container.resources.requests?.memory)).toBeGreaterThanOrEqual(160);
    expect(mebibytes(container.resources.limits?.memory)).toBeGreaterThan(
      mebibytes(container.resources.requests?.memory),
    );
  });

  test('several replicas, rolled out without losing capacity, image pinned', () => {
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    expect(container.image).toMatch(/^otp-verify-service:\d+\.\d+\.\d+$/);
  });

  test('reads its environment from the ConfigMap and the Secret of the same name', () => {
    expect(container.envFrom).toEqual([
      { configMapRef: { name: configMap.metadata.name } },
      { secretRef: { name: secret.metadata.name } },
    ]);
  });

  test('the Service, the PodDisruptionBudget and the Deployment select exactly these pods', () => {
    const service = find<{ spec: { selector: Record<string, string>; ports: { targetPort: string }[] } }>(
      'Service',
    );
    const pdb = find<{ spec: { selector: { matchLabels: Record<string, string> }; maxUnavailable: number } }>(
      'PodDisruptionBudget',
    );
    const labels = pod.metadata.labels;
    for (const selector of [
      service.spec.selector,
      pdb.spec.selector.matchLabels,
      deployment.spec.selector.matchLabels,
    ]) {
      expect(labels).toMatchObject(selector);
      expect(Object.keys(selector).length).toBeGreaterThan(0);
    }
    expect(service.spec.ports.map((p) => p.targetPort)).toEqual(['http']);
    // With two replicas, a drain takes one at a time.
    expect(pdb.spec.maxUnavailable).toBeLessThan(deployment.spec.replicas);
  });
});

describe('the ConfigMap and the Secret', () => {
  test('together they are a valid production configuration over Redis, with real Vonage', () => {
    expect(config.NODE_ENV).toBe('production');
    expect(config.sandbox).toBe(false);
    expect(config.REDIS_URL).toMatch(/^rediss?:\/\//);
    expect(config.API_KEYS.size).toBeGreaterThan(0);
  });

  test('every key is a variable the service reads; secrets only in the Secret', () => {
    const all = [...Object.keys(configMap.data), ...Object.keys(secret.stringData)];
    expect(all.filter((key) => !CONFIG_VARIABLES.has(key))).toEqual([]);
    const secrets = ['API_KEYS', 'VONAGE_API_KEY', 'VONAGE_API_SECRET', 'REDIS_URL'];
    expect(Object.keys(secret.stringData).sort()).toEqual(secrets.sort());
    for (const key of secrets) expect(configMap.data).not.toHaveProperty(key);
  });
});
