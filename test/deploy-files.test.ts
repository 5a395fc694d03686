// Static checks of the deployment files (there is no Docker engine in CI): docker-compose.yml parsed as
// YAML and its service environment run through the real config schema, the Dockerfile's stages, pins,
// user, healthcheck and entry point, the build context (.dockerignore) and the load balancer config.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../src/config';
import { type ComposeService, composeEnvironment, type Healthcheck, readCompose } from './deploy/files';

const ROOT = join(__dirname, '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

// --- docker-compose.yml -----------------------------------------------------------------------------

const compose = readCompose();

function service(name: string): ComposeService {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
}

function environmentOf(name: string, vars: Record<string, string>): Record<string, string> {
  return composeEnvironment(compose, name, vars);
}

const REQUIRED_VARS = {
  API_KEYS: 'billing:0123456789abcdef0123456789abcdef,checkout:fedcba9876543210fedcba9876543210',
  VONAGE_API_KEY: 'abcd1234',
  VONAGE_API_SECRET: 'secret-0123456789',
};

function healthcheckText(check: Healthcheck | undefined): string {
  if (!check) return '';
  return Array.isArray(check.test) ? check.test.join(' ') : check.test;
}

describe('docker-compose.yml', () => {
  test('has Redis, the service, the replicas profile (replicas + load balancer) and the sandbox', () => {
    expect(Object.keys(compose.services).sort()).toEqual([
      'lb',
      'otp',
      'otp-replica',
      'otp-sandbox',
      'redis',
    ]);
  });

  test('every image is pinned to an exact version, never latest', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      if (svc.build !== undefined) continue;
      expect({ name, image: svc.image }).toEqual({
        name,
        image: expect.stringMatching(/^[a-z0-9./-]+:\d+\.\d+\.\d+-/),
      });
      expect(svc.image).not.toMatch(/latest/);
    }
    expect(service('redis').image).toMatch(/^redis:7\.\d+\.\d+-alpine$/);
  });

  test('Redis: AOF persistence, noeviction, data volume, healthcheck with redis-cli ping', () => {
    const redis = service('redis');
    const command = Array.isArray(redis.command) ? redis.command.join(' ') : (redis.command ?? '');
    expect(command).toMatch(/^redis-server /);
    expect(command).toMatch(/--appendonly yes\b/);
    expect(command).toMatch(/--maxmemory-policy noeviction\b/);
    expect(redis.volumes).toContainEqual(expect.stringMatching(/^redis-data:\/data$/));
    expect(compose.volumes).toHaveProperty('redis-data');
    expect(healthcheckText(redis.healthcheck)).toMatch(/redis-cli ping/);
  });

  test.each(['otp', 'otp-replica', 'otp-sandbox'])(
    '%s: built from this Dockerfile, waits for a healthy Redis, has a /healthz healthcheck',
    (name) => {
      const svc = service(name);
      expect(svc.build).toBe('.');
      expect(svc.depends_on?.redis?.condition).toBe('service_healthy');
      const check = healthcheckText(svc.healthcheck);
      expect(check).toMatch(/^CMD node -e /);
      expect(check).toMatch(/\/healthz/);
      expect(check).not.toMatch(/curl|wget/);
    },
  );

  test('the service environment is a valid production configuration over the compose Redis', () => {
    const config = loadConfig(environmentOf('otp', REQUIRED_VARS));
    expect(config.NODE_ENV).toBe('production');
    expect(config.sandbox).toBe(false);
    expect(config.REDIS_URL).toBe('redis://redis:6379/0');
    expect(config.REDIS_CLUSTER).toBe(false);
    expect([...config.API_KEYS.keys()]).toEqual(['billing', 'checkout']);
    expect(config.TRUST_PROXY).toBe(false);
    expect(config.PORT).toBe(3000);
    expect(service('otp').ports).toEqual(['3000:3000']);
  });

  test('credentials come from the environment, never defaulted in the file: without one the service refuses to start', () => {
    for (const name of Object.keys(REQUIRED_VARS)) {
      const vars: Record<string, string> = { ...REQUIRED_VARS };
      delete vars[name];
      // Compose itself substitutes an empty value (a ${X:?} would stop every profile, the sandbox too).
      expect(environmentOf('otp', vars)[name]).toBe('');
      expect(() => loadConfig(environmentOf('otp', vars))).toThrow(/Invalid configuration/);
    }
  });

  test('every variable the file sets is one the service reads (no typos)', () => {
    const known = new Set([
      'NODE_ENV',
      'PORT',
      'API_KEYS',
      'VONAGE_API_KEY',
      'VONAGE_API_SECRET',
      'VONAGE_API_HOST',
      'VONAGE_TIMEOUT_MS',
      'VONAGE_BRAND_NAME',
      'VERIFY_CODE_LENGTH',
      'VERIFY_PIN_EXPIRY',
      'VERIFY_WORKFLOW_ID',
      'REDIS_URL',
      'REDIS_CLUSTER',
      'REDIS_KEY_PREFIX',
      'ALLOWED_COUNTRIES',
      'TEST_NUMBERS',
      'LIMIT_SENDS_PER_NUMBER',
      'LIMIT_SENDS_PER_CALLER',
      'LIMIT_FAILED_CHECKS_PER_NUMBER',
      'LIMIT_AUTH_FAILURES_PER_IP',
      'TRUST_PROXY',
      'CORS_ORIGINS',
      'LOG_LEVEL',
    ]);
    for (const name of ['otp', 'otp-replica', 'otp-sandbox']) {
      expect(Object.keys(service(name).environment ?? {}).filter((key) => !known.has(key))).toEqual([]);
    }
  });

  test('profile "replicas": two replicas over the one Redis with TRUST_PROXY=1, reachable only through the balancer', () => {
    const replica = service('otp-replica');
    expect(replica.profiles).toEqual(['replicas']);
    expect(replica.deploy?.replicas).toBe(2);
    expect(replica.ports).toBeUndefined();
    const config = loadConfig(environmentOf('otp-replica', REQUIRED_VARS));
    expect(config.TRUST_PROXY).toBe(1);
    expect(config.REDIS_URL).toBe(loadConfig(environmentOf('otp', REQUIRED_VARS)).REDIS_URL);
    expect(config.REDIS_KEY_PREFIX).toBe(loadConfig(environmentOf('otp', REQUIRED_VARS)).REDIS_KEY_PREFIX);

    const lb = service('lb');
    expect(lb.profiles).toEqual(['replicas']);
    expect(lb.depends_on?.['otp-replica']?.condition).toBe('service_healthy');
    expect(lb.volumes).toContain('./deploy/nginx.conf:/etc/nginx/nginx.conf:ro');
    expect(lb.ports).toEqual(['8080:8080']);
    expect(healthcheckText(lb.healthcheck)).toMatch(/lb-healthz/);
  });
});

describe('deploy/nginx.conf', () => {
  // Directives only: comments may mention anything.
  const conf = (existsSync(join(ROOT, 'deploy/nginx.conf')) ? read('deploy/nginx.conf') : '').replace(
    /#.*$/gm,
    '',
  );

  test('balances over the replicas, re-resolving them through Docker DNS', () => {
    expect(conf).toMatch(/resolver 127\.0\.0\.11\b/);
    expect(conf).toMatch(/upstream otp \{[^}]*zone otp [^}]*server otp-replica:3000 resolve\b/s);
    expect(conf).toMatch(/proxy_pass http:\/\/otp;/);
  });

  test('listens where compose publishes it and answers its own healthcheck', () => {
    expect(conf).toMatch(/listen 8080;/);
    expect(conf).toMatch(/location = \/lb-healthz/);
  });

  test('passes the client address in X-Forwarded-For (one hop: TRUST_PROXY=1) and never retries a POST', () => {
    expect(conf).toMatch(/proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;/);
    expect(conf).not.toMatch(/non_idempotent/);
  });

  test('balanced braces', () => {
    expect((conf.match(/\{/g) ?? []).length).toBe((conf.match(/\}/g) ?? []).length);
  });
});

// --- Dockerfile -------------------------------------------------------------------------------------

interface Instruction {
  op: string;
  args: string;
}

/** Dockerfile instructions with line continuations joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const joined = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [op = '', ...rest] = line.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

interface Stage {
  from: string;
  name?: string;
  body: Instruction[];
}

function stages(list: Instruction[]): Stage[] {
  const result: Stage[] = [];
  for (const instruction of list) {
    if (instruction.op === 'FROM') {
      const match = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (!match?.[1]) throw new Error(`cannot read FROM ${instruction.args}`);
      result.push({ from: match[1], ...(match[2] ? { name: match[2] } : {}), body: [] });
    } else {
      result.at(-1)?.body.push(instruction);
    }
  }
  return result;
}

describe('Dockerfile', () => {
  const all = instructions(read('Dockerfile'));
  const stageList = stages(all);
  const runtime = stageList.at(-1) as Stage;
  const named = (name: string) => stageList.find((stage) => stage.name === name);
  const runs = (stage: Stage | undefined) =>
    (stage?.body ?? []).filter((i) => i.op === 'RUN').map((i) => i.args);

  test('is multi-stage, every base image pinned to an exact tag (no latest)', () => {
    expect(stageList.length).toBeGreaterThanOrEqual(3);
    const seen = new Set<string>();
    for (const stage of stageList) {
      if (!seen.has(stage.from)) {
        expect(stage.from).toMatch(/^[a-z0-9./-]+:\d+\.\d+\.\d+[-\w.]*(@sha256:[0-9a-f]{64})?$/);
        expect(stage.from).not.toMatch(/latest/);
      }
      if (stage.name) seen.add(stage.name);
    }
  });

  test('Node is an LTS release that can require() the ESM-only uuid the Vonage SDK loads (>= 22.12)', () => {
    const bases = stageList.map((stage) => stage.from).filter((from) => from.startsWith('node:'));
    expect(bases.length).toBeGreaterThan(0);
    for (const base of bases) {
      const [major = 0, minor = 0] = (/^node:(\d+)\.(\d+)\.\d+/.exec(base) ?? []).slice(1).map(Number);
      expect(major % 2).toBe(0);
      expect(major > 22 || (major === 22 && minor >= 12)).toBe(true);
      expect(base).toMatch(/-slim\b/);
    }
  });

  test('build stage: npm ci and npm run build; runtime gets production dependencies only', () => {
    const build = named('build');
    expect(runs(build)).toContainEqual(expect.stringMatching(/^npm ci\b(?!.*--omit=dev)/));
    expect(runs(build)).toContainEqual(expect.stringMatching(/npm run build\b/));
    const copies = runtime.body.filter((i) => i.op === 'COPY').map((i) => i.args);
    expect(copies).toContainEqual(expect.stringMatching(/^--from=build \/app\/dist \.\/dist$/));
    const modules = copies.find((args) => /node_modules/.test(args)) ?? '';
    const source = /--from=(\S+)/.exec(modules)?.[1];
    expect(runs(named(source ?? ''))).toContainEqual(expect.stringMatching(/npm ci --omit=dev/));
  });

  test('package.json build compiles src to dist, so dist/server.js is the entry', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts.build).toBe('tsc -p tsconfig.build.json');
    const tsconfig = JSON.parse(read('tsconfig.build.json')) as { compilerOptions: Record<string, string> };
    expect(tsconfig.compilerOptions).toMatchObject({ rootDir: 'src', outDir: 'dist' });
    expect(existsSync(join(ROOT, 'src/server.ts'))).toBe(true);
  });

  test('runtime: NODE_ENV=production, non-root user, HEALTHCHECK on /healthz, CMD node dist/server.js', () => {
    const env = runtime.body
      .filter((i) => i.op === 'ENV')
      .map((i) => i.args)
      .join(' ');
    expect(env).toMatch(/\bNODE_ENV=production\b/);
    const users = runtime.body.filter((i) => i.op === 'USER').map((i) => i.args);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    const health = runtime.body.find((i) => i.op === 'HEALTHCHECK')?.args ?? '';
    expect(health).toMatch(/CMD \["node", "-e", ".*\/healthz/);
    expect(health).not.toMatch(/curl|wget/);
    const cmd = runtime.body.filter((i) => i.op === 'CMD').at(-1)?.args;
    expect(JSON.parse(cmd ?? 'null')).toEqual(['node', 'dist/server.js']);
    // USER comes before CMD, so nothing after it runs as root.
    const order = runtime.body.map((i) => i.op);
    expect(order.lastIndexOf('USER')).toBeLessThan(order.lastIndexOf('CMD'));
  });

  test('the HEALTHCHECK one-liner is valid JavaScript', () => {
    const health = runtime.body.find((i) => i.op === 'HEALTHCHECK')?.args ?? '';
    const argv = JSON.parse(health.slice(health.indexOf('CMD ') + 4)) as string[];
    expect(argv.slice(0, 2)).toEqual(['node', '-e']);
    // Compiles without running: a syntax error would make the container unhealthy forever.
    expect(() => new Function(argv[2] ?? 'syntax error')).not.toThrow();
  });

  test('copies from the build context only what .dockerignore lets in, and keeps .env out', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    for (const entry of ['.env', 'node_modules', '.git', 'dist']) expect(ignored).toContain(entry);
    const sources = all
      .filter((i) => i.op === 'COPY' && !i.args.startsWith('--from='))
      .flatMap((i) =>
        i.args
          .split(/\s+/)
          .filter((arg) => !arg.startsWith('--'))
          .slice(0, -1),
      );
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect(existsSync(join(ROOT, source))).toBe(true);
      expect(ignored).not.toContain(source);
      expect(ignored).not.toContain(source.split('/')[0]);
    }
  });
});
