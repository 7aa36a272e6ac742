// Tests reach the same local servers as `./dev up`: fill in the connection
// variables from infra/env/local.env unless the environment already has them.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

for (const line of readFileSync(join(__dirname, '../../infra/env/local.env'), 'utf8').split('\n')) {
  const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
  if (match && process.env[match[1]] === undefined) process.env[match[1]] = match[2];
}
