// The README and docs/ tell the truth about the repository: every relative link points at a file of the
// repository (a clone has nothing outside it), nothing points at the team's private notes, and the
// README's statements about Node versions and npm's engine warnings match package.json and the lockfile.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

const DOCUMENTS = [
  'README.md',
  'CHANGELOG.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

/** Markdown link targets ([text](target) and <target> autolinks), minus anchors-only and absolute URLs. */
function relativeLinks(markdown: string): string[] {
  const targets = [...markdown.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((match) => match[1] ?? '');
  return targets
    .filter((target) => !/^(https?:|mailto:|#)/.test(target))
    .map((target) => target.split('#')[0] ?? '');
}

test('the documents checked include the README, the changelog and every file of docs/', () => {
  expect(DOCUMENTS).toEqual(
    expect.arrayContaining([
      'README.md',
      'CHANGELOG.md',
      'docs/README.md',
      'docs/vonage-verify-v1.md',
      'docs/vonage-verify-v2.md',
    ]),
  );
});

test.each(DOCUMENTS)('every relative link in %s resolves to a file of the repository', (document) => {
  const broken = relativeLinks(read(document)).filter((target) => {
    const path = resolve(ROOT, dirname(document), decodeURIComponent(target));
    return relative(ROOT, path).startsWith('..') || !existsSync(path);
  });
  expect(broken).toEqual([]);
});

test.each(DOCUMENTS)("%s does not point at the team's notes outside the repository", (document) => {
  expect(read(document)).not.toMatch(/\.\.\/shared|\/work\/shared|vonage-verify-notes\.md/);
});

test('the link check finds a broken link when there is one', () => {
  expect(
    relativeLinks(
      'see [notes](../shared/x.md), [v1](docs/vonage-verify-v1.md#1-verify) and [web](https://x.y)',
    ),
  ).toEqual(['../shared/x.md', 'docs/vonage-verify-v1.md']);
});

describe('Node versions and engine warnings, as the README states them', () => {
  const readme = read('README.md');
  const pkg = JSON.parse(read('package.json')) as { engines: { node: string }; license: string };
  const lock = JSON.parse(read('package-lock.json')) as {
    packages: Record<string, { engines?: { node?: string } | string[] }>;
  };

  test("the README quotes package.json's engines field", () => {
    expect(readme).toContain(`\`engines\` says \`${pkg.engines.node}\``);
  });

  test('the packages that declare node >=22 are exactly the @vonage ones the README counts', () => {
    const node22 = Object.entries(lock.packages)
      .filter(([, entry]) => !Array.isArray(entry.engines) && entry.engines?.node === '>=22')
      .map(([path]) => path.replace(/^.*node_modules\//, ''));
    expect(node22.length).toBeGreaterThan(0);
    expect(node22.filter((name) => !name.startsWith('@vonage/'))).toEqual([]);
    expect(readme).toContain(`${node22.length} \`@vonage/*\` packages of the SDK declare \`"node": ">=22"\``);
  });

  test('LICENSE is the MIT licence package.json names', () => {
    expect(pkg.license).toBe('MIT');
    expect(read('LICENSE')).toMatch(/^MIT License\n/);
  });
});
