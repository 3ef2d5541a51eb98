#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm run build`).
import('../dist/cli/main.js').catch((err) => {
  // Only a missing dist/cli/main.js means "not built"; any other missing module is a broken
  // install and is shown as it is.
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && /dist[\\/]cli[\\/]main\.js/.test(String(err.message).split('imported from')[0])) {
    process.stderr.write('sealtrail: not built yet; run `npm run build` first\n');
    process.exit(2);
  }
  throw err;
});
