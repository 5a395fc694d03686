// Offline validation of Kubernetes objects in two halves, both from the `kubernetes-models` package
// (generated from the Kubernetes OpenAPI schema, no cluster or network needed):
//  - its runtime validators check required fields, types, enums and formats, but accept unknown fields;
//  - so unknown fields (a typo such as `livenesProbe`, which kubectl would drop or reject) are found by
//    type-checking each object as a literal of the model's TypeScript interface: excess-property checks
//    reject any field the schema does not have, at every depth.

import ts from 'typescript';
import { ROOT } from './files';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string };
  [field: string]: unknown;
}

/** kubernetes-models' module for an apiVersion and kind: apps/v1 + Deployment -> kubernetes-models/apps/v1/Deployment. */
function modelModule(object: KubeObject): string {
  if (!/^[a-z0-9.]+(\/v\d+\w*)?$/.test(object.apiVersion) || !/^[A-Z]\w+$/.test(object.kind)) {
    throw new Error(`not a Kubernetes apiVersion/kind: ${object.apiVersion} ${object.kind}`);
  }
  return `kubernetes-models/${object.apiVersion}/${object.kind}`;
}

interface Model {
  validate(): void;
}

/** The runtime schema check: throws with the schema's message, e.g. "data/spec/replicas must be integer". */
export function validateWithSchema(object: KubeObject): void {
  const module = require(modelModule(object)) as Record<string, new (data: unknown) => Model>;
  const ModelClass = module[object.kind];
  if (!ModelClass) throw new Error(`kubernetes-models has no ${object.kind} in ${modelModule(object)}`);
  new ModelClass(object).validate();
}

/**
 * Type-checks the objects against their interfaces; returns one line per problem ("" names no object:
 * an empty list means every field of every object exists in the schema with the right type).
 */
export function typeCheckFields(objects: { label: string; object: KubeObject }[]): string[] {
  const fileName = `${ROOT}/test/deploy/__manifests__.ts`;
  const lines: string[] = [];
  objects.forEach(({ label, object }, index) => {
    lines.push(`// ${label}`);
    lines.push(`import type { I${object.kind} as T${index} } from '${modelModule(object)}';`);
    lines.push(`export const o${index}: T${index} = ${JSON.stringify(object, null, 2)};`);
  });
  const source = lines.join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.Node16,
    moduleResolution: ts.ModuleResolutionKind.Node16,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (name) => (name === fileName ? source : readFile(name));
  host.fileExists = (name) => name === fileName || ts.sys.fileExists(name);
  host.getSourceFile = (name, language, onError, create) =>
    name === fileName
      ? ts.createSourceFile(name, source, language, true)
      : getSourceFile(name, language, onError, create);
  const program = ts.createProgram([fileName], options, host);
  const sourceFile = program.getSourceFile(fileName);
  return ts.getPreEmitDiagnostics(program, sourceFile).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ');
    if (diagnostic.file && diagnostic.start !== undefined) {
      const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
      const label = source
        .split('\n')
        .slice(0, line + 1)
        .reverse()
        .find((text) => text.startsWith('// '));
      return `${label?.slice(3) ?? '?'}: ${message}`;
    }
    return message;
  });
}
