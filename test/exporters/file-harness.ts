// A file sink on a fresh temp directory, with real faults: `chattr +i` on the directories when
// root (root ignores modes), chmod 0555 otherwise. Shared by the file-sink and worker-sink tests.
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FileExporterConfig } from '../../config/types.js';
import { FileSink } from '../../exporters/file/file-sink.js';
import type { LogFn } from '../../lib/log.js';
import type { Sink } from '../../exporters/sink.js';
import type { SinkHarness } from './conformance.js';

const run = promisify(execFile);
export const isRoot = process.getuid?.() === 0;

export async function walk(root: string, rel = ''): Promise<{ files: string[]; dirs: string[] }> {
  const out = { files: [] as string[], dirs: [path.join(root, rel)] };
  let entries;
  try {
    entries = await fsp.readdir(path.join(root, rel), { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { files: [], dirs: [] };
    throw err;
  }
  for (const e of entries) {
    const r = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) {
      const sub = await walk(root, r);
      out.files.push(...sub.files);
      out.dirs.push(...sub.dirs);
    } else out.files.push(r);
  }
  return out;
}

export async function setDirsWritable(root: string, writable: boolean): Promise<void> {
  for (const d of (await walk(root)).dirs) {
    if (isRoot) await run('chattr', [writable ? '-i' : '+i', d]);
    else await fsp.chmod(d, writable ? 0o755 : 0o555);
  }
}

export interface FileHarness<S extends Sink = FileSink> extends SinkHarness {
  sink: S;
  root: string;
  logs: { level: string; msg: string }[];
}

export async function makeFileHarness<S extends Sink = FileSink>(
  overrides: Partial<FileExporterConfig> = {},
  makeSink: (cfg: FileExporterConfig, log: LogFn) => S = (cfg, log) => new FileSink(cfg, log) as unknown as S,
): Promise<FileHarness<S>> {
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sealtrail-'));
  const root = path.join(tmp, 'archive');
  const logs: { level: string; msg: string }[] = [];
  const log: LogFn = (level, msg) => logs.push({ level, msg });
  const sink = makeSink({ type: 'file', id: 'file', directory: root, compression: 'none', immutable: false, ...overrides }, log);
  const heal = () => setDirsWritable(root, true);
  return {
    sink,
    root,
    logs,
    async readBack(name) {
      try {
        return new Uint8Array(await fsp.readFile(path.join(root, ...name.split('/'))));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
    },
    listNames: async () => (await walk(root)).files,
    injectTransientFault: () => setDirsWritable(root, false),
    healFault: heal,
    async cleanup() {
      await heal();
      if (isRoot) await run('chattr', ['-R', '-i', tmp]).catch(() => {});
      await fsp.rm(tmp, { recursive: true, force: true });
    },
  };
}
