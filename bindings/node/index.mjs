// mle-runtime as an ES module: the CommonJS API (index.js) re-exported, so
// `import` and `require` share one instance of the addon and of its classes
// (an MLEError from either is `instanceof` both).
import mle from './index.js';

export default mle;
export const {
  load,
  loadAsync,
  loadBuffer,
  version,
  abiVersion,
  keygen,
  sign,
  encrypt,
  decrypt,
  statusString,
  MAX_STRING_BYTES,
  Model,
  MLEError,
  AbortError,
  Status,
  dtypes,
  ABI_VERSION,
} = mle;
