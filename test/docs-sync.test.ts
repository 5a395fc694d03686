// The README and .env.example must document every configuration variable the schema reads, and the
// README every error code: this fails when one is added without its documentation.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configFields } from '../src/config';
import { errors } from '../src/errors';

const root = join(__dirname, '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const envExample = readFileSync(join(root, '.env.example'), 'utf8');
const variables = Object.keys(configFields.shape);

test('the schema reads the variables of the contract', () => {
  expect(variables).toEqual(
    expect.arrayContaining(['PORT', 'API_KEYS', 'VONAGE_API_KEY', 'REDIS_URL', 'LOG_LEVEL']),
  );
});

test.each(variables)('README configuration table documents %s', (name) => {
  expect(readme).toMatch(rowFor(name));
});

test.each(variables)('.env.example lists %s', (name) => {
  expect(envExample).toMatch(new RegExp(`^#? ?${name}=`, 'm'));
});

const codes = Object.values(errors).map((factory) => {
  const make = factory as (...args: never[]) => { code: string; status: number };
  return make(...([] as never[]));
});

test.each(codes.map((e) => [e.code, e.status]))('README error table documents %s (%i)', (code, status) => {
  expect(readme).toMatch(new RegExp(`^\\| ${status} \\| \`${code}\` \\|`, 'm'));
});

/** The configuration table row that names the variable (a row may name two, like the Vonage pair). */
function rowFor(name: string): RegExp {
  return new RegExp(`^\\| (\`[A-Z_]+\`, )?\`${name}\`(, \`[A-Z_]+\`)? \\|`, 'm');
}
