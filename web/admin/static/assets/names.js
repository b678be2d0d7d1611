// The contract's naming rules, checked as the developer types. The server checks them again
// (tools/names); the browser tests hold the two to the same answers.

const reservedBackends = new Set(['admin', 'www', 'traefik', 'api']);

/**
 * backendNameProblem explains what is wrong with a backend name, or returns '' when it is
 * valid: a DNS label of 3 to 32 characters, lowercase letters, digits and '-', starting with a
 * letter, not ending in '-' or '-be', no '--' in the third and fourth places, not reserved.
 */
export function backendNameProblem(name) {
  if (name === '') return 'Enter a name.';
  if (/[A-Z]/.test(name)) return 'Use lowercase letters only.';
  if (/[^a-z0-9-]/.test(name)) return 'Use only lowercase letters, digits and "-".';
  if (!/^[a-z]/.test(name)) return 'Start with a letter.';
  if (name.length < 3) return 'Use at least 3 characters.';
  if (name.length > 32) return `Use at most 32 characters (this has ${name.length}).`;
  if (name.endsWith('-')) return 'Do not end with "-".';
  if (name.endsWith('-be')) return 'Do not end with "-be": it is the suffix of the API\'s address.';
  if (name.slice(2, 4) === '--') return 'Do not put "--" in the third and fourth places (it is kept for international domain names).';
  if (reservedBackends.has(name)) return `"${name}" is kept for the platform itself.`;
  return '';
}

const reservedCollections = new Set(['auth', 'files', 'collections', 'ws', 'healthz', 'readyz', 'metrics', 'admin', 'openapi', 'sdk', 'fn']);

/** collectionNameProblem explains what is wrong with a collection name, or returns ''. */
export function collectionNameProblem(name) {
  if (name === '') return 'Enter a name.';
  if (!/^[A-Za-z]/.test(name)) return 'Start with a letter.';
  if (/[^A-Za-z0-9_-]/.test(name)) return 'Use only letters, digits, "_" and "-".';
  if (name.length > 64) return `Use at most 64 characters (this has ${name.length}).`;
  if (reservedCollections.has(name.toLowerCase())) return `"${name}" is a path the API itself uses.`;
  return '';
}
