// The container image as users run it: build the Containerfile on a local base image, play
// deploy/kubernetes/sidecar.yaml with podman (a real application container sending audit
// records through the OpenTelemetry SDK to the sidecar on localhost), stop the pod with
// SIGTERM, and verify the archive on the buffer volume with `sealtrail verify`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT, tempDir } from '../helpers/agent.js';
import { runCli } from '../helpers/cli.js';
import { PROJECT_IMAGE, baseImage, buildProjectImage, imageSizeBytes, podman, run } from './podman.js';

const MANIFEST = path.join(REPO_ROOT, 'deploy/kubernetes/sidecar.yaml');
const COUNT = 200;
const RUN_ID = `r${Date.now().toString(36)}`;

interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; value?: string }>;
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}

let dir: string;
let base: string;
let pubKey: string;
let playFile: string;
let podName: string;
let volumeName: string;
let namedVolumes: string[] = [];
let grace: number;
let started = false;

/** Removes the played pod (also one left half-created by a failed play) and its volumes. */
async function removePod(): Promise<void> {
  await run('podman', ['kube', 'play', '--down', playFile]);
  const pods = (await run('podman', ['pod', 'ps', '--format', '{{.Name}}', '--filter', 'name=^billing-api-pod'])).stdout
    .split('\n')
    .filter(Boolean);
  for (const p of pods) await run('podman', ['pod', 'rm', '-f', p]);
  await run('podman', ['volume', 'rm', '-f', ...namedVolumes]);
}

before(async () => {
  dir = await tempDir('sealtrail-deploy-');
  base = await baseImage();
  await buildProjectImage(base);
  const size = await imageSizeBytes(PROJECT_IMAGE);
  process.stdout.write(`# image ${PROJECT_IMAGE}: ${(size / 1e6).toFixed(1)} MB\n`);
});

after(async () => {
  if (started) await removePod();
  await run('podman', ['secret', 'rm', 'sealtrail-key']);
  await fs.rm(dir, { recursive: true, force: true });
});

test('the sidecar pod from deploy/kubernetes archives every audit record, and SIGTERM stops it gracefully', async () => {
  // A fresh key, as an operator would make it for the Secret.
  const keygen = await runCli(['keygen', '--name', 'billing-api', '--dir', path.join(dir, 'keys')]);
  assert.equal(keygen.code, 0, keygen.stderr);
  const keyText = await fs.readFile(path.join(dir, 'keys/billing-api.key'), 'utf8');
  pubKey = path.join(dir, 'keys/billing-api.pub');

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the test walks the manifests' YAML freely
  const docs = parseAllDocuments(await fs.readFile(MANIFEST, 'utf8'), { version: '1.1' }).map((d) => d.toJS() as Record<string, any>);
  const secret = docs.find((d) => d.kind === 'Secret')!;
  const pvc = docs.find((d) => d.kind === 'PersistentVolumeClaim')!;
  const deployment = docs.find((d) => d.kind === 'Deployment')!;
  assert.ok(secret && pvc && deployment, 'sidecar.yaml has a Secret, a PVC and a Deployment');
  volumeName = pvc.metadata.name as string;
  // Podman 4.3 keeps Secret and ConfigMap volumes as named volumes: drop stale ones.
  namedVolumes = [volumeName, ...docs.filter((d) => d.kind === 'Secret' || d.kind === 'ConfigMap').map((d) => d.metadata.name as string)];
  const spec = deployment.spec.template.spec as {
    terminationGracePeriodSeconds: number;
    initContainers: Container[];
    containers: Container[];
    volumes: Array<Record<string, unknown>>;
  };
  grace = spec.terminationGracePeriodSeconds;

  // Podman 4.3 reads a secret volume from a podman secret holding the Secret, and takes
  // `data` values verbatim (not base64) and ignores `stringData`. (YAML 1.1 above, like
  // kubectl: defaultMode 0400 is octal.)
  delete secret.stringData;
  secret.data = { 'sealtrail.key': keyText };
  await run('podman', ['secret', 'rm', secret.metadata.name]);
  const secretFile = path.join(dir, 'secret.json');
  await fs.writeFile(secretFile, JSON.stringify(secret), { mode: 0o600 });
  await podman(['secret', 'create', secret.metadata.name, secretFile]);

  // The manifest as shipped, with the images built here and a real application.
  for (const c of [...spec.initContainers, ...spec.containers]) if (c.image === 'localhost/sealtrail:latest') c.image = PROJECT_IMAGE;
  const app = spec.containers.find((c) => c.name === 'app')!;
  app.image = base;
  app.command = ['node', '/app/dist/test/deploy/audit-app.js'];
  app.env = [...(app.env ?? []), { name: 'AUDIT_RUN_ID', value: RUN_ID }, { name: 'AUDIT_COUNT', value: String(COUNT) }];
  app.volumeMounts = [
    { name: 'app-dist', mountPath: '/app/dist', readOnly: true },
    { name: 'app-modules', mountPath: '/app/node_modules', readOnly: true },
    { name: 'app-package', mountPath: '/app/package.json', readOnly: true },
  ];
  spec.volumes.push(
    { name: 'app-dist', hostPath: { path: path.join(REPO_ROOT, 'dist'), type: 'Directory' } },
    { name: 'app-modules', hostPath: { path: path.join(REPO_ROOT, 'node_modules'), type: 'Directory' } },
    { name: 'app-package', hostPath: { path: path.join(REPO_ROOT, 'package.json'), type: 'File' } },
  );
  // Podman 4.3 creates init containers as type "once" and removes each after it ran, which
  // races with the container's own exit ("failed to remove once init container ... as it is
  // running") and failed the play. Type "always" keeps them, and runs them at every pod start,
  // as Kubernetes does; Kubernetes ignores the annotation. Podman 4.3 reads a Deployment's own
  // annotations for its pods, later versions the pod template's: set both.
  for (const meta of [deployment.metadata, deployment.spec.template.metadata] as Array<{ annotations?: Record<string, string> }>)
    meta.annotations = { ...meta.annotations, 'io.podman.annotations.init.container.type': 'always' };
  const played = docs.filter((d) => d.kind !== 'Secret');
  playFile = path.join(dir, 'play.yaml');
  await fs.writeFile(playFile, played.map((d) => JSON.stringify(d)).join('\n---\n'));

  started = true;
  await removePod();
  const r = await run('podman', ['kube', 'play', playFile]);
  assert.equal(r.code, 0, `podman kube play exited ${r.code}:\n${r.stderr}`);
  podName = (await podman(['pod', 'ps', '--format', '{{.Name}}', '--filter', `label=app=billing-api`])).trim().split('\n')[0]!;
  assert.ok(podName, 'kube play created the pod');
  const sidecar = `${podName}-sealtrail`;
  const appName = `${podName}-app`;

  // The application reports when the SDK's exports were acknowledged.
  const deadline = Date.now() + 120_000;
  let appLog = '';
  while (!appLog.includes(`emitted ${COUNT}`)) {
    if (Date.now() > deadline) {
      const side = await run('podman', ['logs', sidecar]);
      assert.fail(`the app did not finish: ${appLog}\n--- sidecar:\n${side.stderr.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 500));
    const r = await run('podman', ['logs', appName]);
    appLog = r.stdout + r.stderr;
    assert.doesNotMatch(appLog, /audit-app: /, 'the app failed');
  }

  // SIGTERM (the image's STOPSIGNAL), SIGKILL only after the manifest's grace period.
  await podman(['pod', 'stop', '--time', String(grace), podName]);
  const exit = (await podman(['inspect', '--format', '{{.State.ExitCode}}', sidecar])).trim();
  assert.equal(exit, '0', 'the agent exited by itself (137 would be SIGKILL at the end of the grace period)');
  const sidecarLogs = (await run('podman', ['logs', sidecar])).stderr
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { msg: string; reason?: string });
  assert.ok(
    sidecarLogs.some((l) => l.msg === 'stopped' && l.reason === 'SIGTERM'),
    'the agent logged a graceful stop on SIGTERM',
  );

  // The archive on the buffer volume verifies with the host's sealtrail and the public key.
  const mount = (await podman(['volume', 'inspect', '--format', '{{.Mountpoint}}', volumeName])).trim();
  const archive = path.join(mount, 'archive');
  const verify = await runCli(['verify', archive, '--key', pubKey]);
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);

  const cat = await runCli(['cat', archive, '--json']);
  assert.equal(cat.code, 0, cat.stderr);
  const entries = cat.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { record: { eventName?: string; attributes?: Array<{ key: string; value: { stringValue?: string } }> } });
  const attr = (e: (typeof entries)[number], k: string): string | undefined =>
    e.record.attributes?.find((a) => a.key === k)?.value.stringValue;
  const ids = new Set(entries.map((e) => attr(e, 'audit.id')).filter((v) => v?.startsWith(`${RUN_ID}-`)));
  const missing = Array.from({ length: COUNT }, (_, i) => `${RUN_ID}-${i}`).filter((id) => !ids.has(id));
  assert.deepEqual(missing, [], 'every audit record the app sent is in the archive');
  assert.ok(!entries.some((e) => e.record.attributes?.some((a) => a.key === 'not.audit')), 'non-audit records were filtered out');
  const last = entries[entries.length - 1]!;
  assert.equal(last.record.eventName, 'sealtrail.stop', 'the stop entry closes the archive');
  assert.equal(attr(last, 'sealtrail.reason'), 'SIGTERM');
});

test('the image alone: embedded default config, data in the one volume, HEALTHCHECK healthy, SIGTERM stops it', async () => {
  const name = 'sealtrail-deploy-standalone';
  const vol = 'sealtrail-deploy-standalone';
  await run('podman', ['rm', '-f', name]);
  await run('podman', ['volume', 'rm', '-f', vol]);
  try {
    await podman(['run', '-d', '--name', name, '-v', `${vol}:/var/lib/sealtrail`, PROJECT_IMAGE]);
    // The image's own HEALTHCHECK (node fetching /healthz inside the container).
    const deadline = Date.now() + 120_000;
    for (;;) {
      const h = await run('podman', ['healthcheck', 'run', name]);
      if (h.code === 0) break;
      if (Date.now() > deadline) assert.fail(`never healthy: ${h.stdout}${h.stderr}\n${(await run('podman', ['logs', name])).stderr}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    await podman(['stop', '--time', '45', name]);
    assert.equal((await podman(['inspect', '--format', '{{.State.ExitCode}}', name])).trim(), '0');
    const mount = (await podman(['volume', 'inspect', '--format', '{{.Mountpoint}}', vol])).trim();
    const v = await runCli(['verify', path.join(mount, 'archive'), '--key', path.join(mount, 'keys/sealtrail.pub')]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    const cat = await runCli(['cat', path.join(mount, 'archive'), '--json']);
    const lines = cat.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { record: { eventName?: string } });
    assert.equal(lines[lines.length - 1]?.record.eventName, 'sealtrail.stop', 'the stop entry closes the archive');
  } finally {
    await run('podman', ['rm', '-f', name]);
    await run('podman', ['volume', 'rm', '-f', vol]);
  }
});
