// Podman for the deploy tests: runs the setup script (Debian packages, containers.conf, the
// local base image), builds the project's Containerfile on it, and runs podman commands
// with the test's CONTAINERS_CONF. No mocks: real podman, runc and images.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/agent.js';

export const STATE_DIR = process.env.SEALTRAIL_DEPLOY_STATE ?? '/var/tmp/sealtrail-deploy';
export const CONTAINERS_CONF = path.join(STATE_DIR, 'containers.conf');
export const PROJECT_IMAGE = 'localhost/sealtrail:deploy-test';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { cwd: opts.cwd ?? REPO_ROOT, env: { ...process.env, CONTAINERS_CONF, ...opts.env }, maxBuffer: 256 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

/** Runs a command that must succeed; the error carries its output. */
export async function must(cmd: string, args: readonly string[], opts: { cwd?: string; input?: string } = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}\n${r.stderr.slice(-4000)}\n${r.stdout.slice(-2000)}`);
  return r.stdout;
}

export function podman(args: readonly string[], opts: { input?: string } = {}): Promise<string> {
  return must('podman', args, opts);
}

/** Installs what is missing and builds (or reuses) the base image; returns its name. */
export async function baseImage(): Promise<string> {
  const out = await must('bash', [path.join(REPO_ROOT, 'test/setup/deploy/base-image.sh')]);
  return out.trim().split('\n').pop()!;
}

/**
 * Builds the Containerfile on the local base image. The build stage runs npm ci, so it
 * needs the npm registry: --network=host reaches it through the host, and the host's CA
 * bundle goes in as a build secret for hosts behind a TLS-intercepting proxy.
 */
export async function buildProjectImage(base: string): Promise<void> {
  // Docker format: the OCI image format has no HEALTHCHECK, and podman drops it.
  const args = [
    'build',
    '--format=docker',
    '--network=host',
    '--build-arg',
    `NODE_IMAGE=${base}`,
    '-t',
    PROJECT_IMAGE,
    '-f',
    'Containerfile',
  ];
  const ca = process.env.NODE_EXTRA_CA_CERTS ?? '/etc/ssl/certs/ca-certificates.crt';
  if (existsSync(ca)) args.push('--secret', `id=npm_ca,src=${ca}`);
  await podman([...args, '.']);
  // Each source change leaves the previous build's images untagged: drop those older than a
  // day so repeated CI runs do not fill the disk, and keep recent ones as the build cache.
  await podman(['image', 'prune', '-f', '--filter', 'until=24h']);
}

export async function imageSizeBytes(image: string): Promise<number> {
  return Number((await podman(['image', 'inspect', '--format', '{{.Size}}', image])).trim());
}
