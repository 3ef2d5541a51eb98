// classic-level, imported after the CRC-32C helper so that its LevelDB binds to the helper's
// checksum (leveldb-crc32c.ts). Every module that opens a LevelDB imports it from here.
import './leveldb-crc32c.js';
export { ClassicLevel } from 'classic-level';
