// The suite moved to exporters/conformance/ (library code, usable by sink packages).
export * from '../../exporters/conformance/suite.js';
