// Reading the deployment files the way their tools do: docker-compose.yml with compose's variable
// substitution, YAML manifests with several documents, and the names of the variables the service reads.

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { configFields } from '../../src/config';

export const ROOT = resolve(__dirname, '..', '..');

export const readText = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

/** Every YAML document of a file (Kubernetes manifests may hold several), failing on a YAML error. */
export function readYamlDocuments(file: string): unknown[] {
  return parseAllDocuments(readText(file)).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as unknown;
  });
}

export interface Healthcheck {
  test: string[] | string;
  interval?: string;
}

export interface ComposeService {
  image?: string;
  build?: string | { context: string };
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null>;
  ports?: string[];
  expose?: string[];
  volumes?: string[];
  profiles?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: Healthcheck;
  deploy?: { replicas?: number };
  stop_grace_period?: string;
  init?: boolean;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

export function readCompose(): ComposeFile {
  return parse(readText('docker-compose.yml'), { merge: true }) as ComposeFile;
}

/** Compose variable substitution (${X}, ${X:-default}, ${X-default}, ${X:?error}, ${X?error}). */
export function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(
    /\$\{([A-Z0-9_]+)(?:(:?[-?])([^}]*))?\}/g,
    (_all, name: string, op?: string, arg?: string) => {
      const set = vars[name];
      const empty = set === undefined || (op?.startsWith(':') && set === '');
      if (!op || !empty) return set ?? '';
      if (op.endsWith('?')) throw new Error(`compose would stop: ${name}: ${arg}`);
      return arg ?? '';
    },
  );
}

/** A compose service's environment after substitution with the given variables. */
export function composeEnvironment(
  compose: ComposeFile,
  name: string,
  vars: Record<string, string>,
): Record<string, string> {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service "${name}"`);
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(found.environment ?? {})) {
    env[key] = interpolate(String(value ?? ''), vars);
  }
  return env;
}

/** The environment variables the service reads: the fields of the one config schema. */
export const CONFIG_VARIABLES: ReadonlySet<string> = new Set(Object.keys(configFields.shape));

/** Compose and Kubernetes durations ("40s", "1m30s") in milliseconds. */
export function durationMs(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new Error(`not a duration: "${text}"`);
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * (units[p[2] ?? ''] ?? 0), 0);
}
