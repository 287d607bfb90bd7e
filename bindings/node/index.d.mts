// Type declarations for `import ... from 'mle-runtime'` (index.mjs): the same
// API as index.d.ts, plus the default export (the whole API as one object).
export * from './index.js';
import * as mle from './index.js';
export default mle;
