// Jest cannot require() the ESM-only `uuid` that @vonage/jwt pulls in (Node itself can); the SDK only
// uses v4, which this CommonJS stand-in provides from node:crypto. Tests only: the service uses the real one.
const { randomUUID } = require('node:crypto');
module.exports = { v4: () => randomUUID() };
