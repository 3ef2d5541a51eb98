// What a sink package's tests import (docs/sink-packages.md): the conformance suite every
// built-in sink passes, its test-batch helpers, and the wrapper the agent puts around a
// package's sink (so the suite sees the sink exactly as the agent does).
export {
  sinkConformanceSuite,
  makeTestBatch,
  freshOrigin,
  assertRejectsCode,
  type SinkHarness,
  type SinkConformanceOptions,
} from './suite.js';
export { sinkFromFactory, wrapPackageSink, type SinkFactory, type SinkFactoryContext } from '../module/module-sink.js';
export type { Sink, PutResult } from '../sink.js';
