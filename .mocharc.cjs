// Test files load as ES modules, like the daemon in production. Node 20.19+ lets mocha `require()`
// them instead (require(esm)); tsx then compiles them to CommonJS, and any dynamic `import()` in
// src (the daemon loads the API and the Elasticsearch client lazily) gets a second copy of every
// module, so class identity (`instanceof`) differs between the copies.
module.exports = {
  'node-option': ['import=tsx', 'no-experimental-require-module'],
  extension: ['ts'],
  timeout: 20000,
};
