// RabbitMQ 4.0.5 with Erlang/OTP 27 for the 3-node chaos cluster, from Debian 13 (trixie) on this Debian
// 12 machine: the debs are downloaded, verified and extracted into .brokers/rabbitmq-4.0.5/root, and
// the Erlang binaries patched (patchelf) to load trixie's own libc, OpenSSL and friends from there.
// RabbitMQ 3.10 (bookworm's) loses publishes to a quorum queue whose leader dies (docs/reliability.md).
//
//   node scripts/cluster/rabbitmq-4.mjs      installs once (a marker file says it is complete)
//
// By hand, not apt: apt on this machine installs bookworm's packages and would replace its own libc.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  closeSync,
  rmSync,
  writeFileSync,
  lstatSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from '../broker-env.mjs';

/** The RabbitMQ release the cluster runs; the Debian revision and every dependency come from Packages. */
export const RABBIT4_VERSION = '4.0.5';
export const INSTALL_DIR = resolve(ROOT, `.brokers/rabbitmq-${RABBIT4_VERSION}`);
/** The extracted file system: <root>/usr/lib/rabbitmq, <root>/usr/lib/erlang, trixie's libraries. */
export const ROOT_DIR = join(INSTALL_DIR, 'root');
/** rabbitmq-server, rabbitmqctl… (they need ERLANG_BIN on PATH). */
export const RABBIT4_BIN = join(ROOT_DIR, 'usr/lib/rabbitmq/bin');
export const ERLANG_BIN = join(ROOT_DIR, 'usr/lib/erlang/bin');
const MARKER = join(INSTALL_DIR, 'installed.json');

const MIRROR = 'http://deb.debian.org';
/** Where the packages come from; a package in several takes the highest version (security fixes). */
const SUITES = [
  { archive: `${MIRROR}/debian`, suite: 'trixie' },
  { archive: `${MIRROR}/debian`, suite: 'trixie-updates' },
  { archive: `${MIRROR}/debian-security`, suite: 'trixie-security' },
];
const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
// rabbitmq-server's Depends (without adduser, openssl, socat, python3: not used here) and what
// trixie's Erlang links against that bookworm's libraries are too old for
const PACKAGES = [
  'rabbitmq-server',
  ...['base', 'crypto', 'eldap', 'inets', 'mnesia', 'os-mon', 'parsetools', 'public-key']
    .concat(['runtime-tools', 'ssl', 'syntax-tools', 'tools', 'xmerl', 'asn1'])
    .map((p) => `erlang-${p}`),
  'libc6',
  'libgcc-s1',
  'libstdc++6',
  'libtinfo6',
  'zlib1g',
  'libssl3t64',
  'libzstd1', // libcrypto's
];

const log = (line) => console.log(`[rabbitmq-4] ${line}`);

export class VerificationError extends Error {
  name = 'VerificationError';
}

async function download(url) {
  const res = await globalThis.fetch(url); // Node 20 has it; the lint globals of scripts/ do not
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

/** The signed text of a suite's InRelease, after gpgv checked it against Debian's archive keyring. */
async function inRelease({ archive, suite }) {
  if (!existsSync(KEYRING)) {
    throw new VerificationError(`${KEYRING} missing: apt-get install debian-archive-keyring`);
  }
  const file = join(INSTALL_DIR, 'dists', `${suite}.InRelease`);
  mkdirSync(join(INSTALL_DIR, 'dists'), { recursive: true });
  writeFileSync(file, await download(`${archive}/dists/${suite}/InRelease`));
  let text;
  try {
    // --output: only the text the signature covers, never what may surround it
    text = execFileSync('gpgv', ['--keyring', KEYRING, '--output', '-', file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }).toString();
  } catch (err) {
    throw new VerificationError(
      `${suite}/InRelease: bad or unknown signature (is ${KEYRING} new enough to hold trixie's keys?)\n${err.stderr}`,
    );
  }
  // as apt does: a validly signed file of another suite, or an expired one, is refused too
  const field = (name) => new RegExp(`^${name}: (.*)$`, 'm').exec(text)?.[1];
  if (field('Codename') !== suite) {
    throw new VerificationError(`${suite}/InRelease is signed for ${field('Codename')}`);
  }
  const until = field('Valid-Until');
  if (until && Date.parse(until) < Date.now()) {
    throw new VerificationError(`${suite}/InRelease expired on ${until}`);
  }
  return text;
}

/** The stanzas of `main/binary-amd64/Packages` of a suite, checked against the SHA256 of its InRelease. */
async function packagesOf(src) {
  const release = await inRelease(src);
  const path = 'main/binary-amd64/Packages.xz';
  // the SHA256 section lists "<hash> <size> <path>"; an arch's Packages also lists the arch-all
  // packages ("No-Support-for-Architecture-all: Packages"), so binary-all is not needed
  const sums = release.split(/^SHA256:$/m)[1] ?? '';
  const line = sums.split('\n').find((l) => l.trim().split(/\s+/)[2] === path);
  if (!line) throw new VerificationError(`${src.suite}/InRelease lists no SHA256 for ${path}`);
  const [want, size] = line.trim().split(/\s+/);
  const xz = await download(`${src.archive}/dists/${src.suite}/${path}`);
  const got = sha256(xz);
  if (got !== want || xz.length !== Number(size)) {
    throw new VerificationError(
      `${src.suite}/${path}: SHA256 ${got} (${xz.length} bytes), InRelease says ${want} (${size} bytes)`,
    );
  }
  const text = execFileSync('xz', ['-dc'], { input: xz, maxBuffer: 1 << 30 }).toString();
  return text.split('\n\n').map((stanza) => {
    const fields = {};
    for (const l of stanza.split('\n')) {
      const m = /^([A-Za-z0-9-]+): (.*)$/.exec(l);
      if (m) fields[m[1]] = m[2];
    }
    return { ...fields, archive: src.archive, suite: src.suite };
  });
}

const newer = (a, b) => {
  try {
    execFileSync('dpkg', ['--compare-versions', a, 'gt', b]);
    return true;
  } catch {
    return false;
  }
};

/** For each of PACKAGES the amd64 (or all) stanza with the highest version across SUITES. */
async function resolvePackages() {
  const best = new Map();
  for (const src of SUITES) {
    for (const p of await packagesOf(src)) {
      if (!PACKAGES.includes(p.Package) || !['amd64', 'all'].includes(p.Architecture)) continue;
      const have = best.get(p.Package);
      if (!have || newer(p.Version, have.Version)) best.set(p.Package, p);
    }
  }
  const missing = PACKAGES.filter((p) => !best.has(p));
  if (missing.length) throw new Error(`not in ${SUITES.map((s) => s.suite)}: ${missing.join(', ')}`);
  const rabbit = best.get('rabbitmq-server').Version;
  if (!rabbit.startsWith(`${RABBIT4_VERSION}-`)) {
    throw new Error(
      `trixie now has rabbitmq-server ${rabbit}, not ${RABBIT4_VERSION}: update RABBIT4_VERSION`,
    );
  }
  return [...best.values()];
}

/** Downloads (or reuses) one deb, checked against the SHA256 of its Packages stanza. */
async function fetchDeb(p) {
  const file = join(INSTALL_DIR, 'debs', p.Filename.split('/').pop());
  if (existsSync(file) && sha256(readFileSync(file)) === p.SHA256) return file;
  const deb = await download(`${p.archive}/${p.Filename}`);
  const got = sha256(deb);
  if (got !== p.SHA256) {
    throw new VerificationError(`${p.Filename}: SHA256 ${got}, Packages (${p.suite}) says ${p.SHA256}`);
  }
  mkdirSync(join(INSTALL_DIR, 'debs'), { recursive: true });
  writeFileSync(file, deb);
  return file;
}

function isElf(file) {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(4);
    return readSync(fd, head, 0, 4, 0) === 4 && head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    closeSync(fd);
  }
}

function* filesUnder(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = lstatSync(path);
    if (st.isDirectory()) yield* filesUnder(path);
    else if (st.isFile()) yield path;
  }
}

/**
 * Makes trixie's Erlang run here: its executables take trixie's dynamic loader, and they and their
 * NIFs/ports (crypto.so needs OpenSSL 3.5, libc 2.38+) find trixie's libraries first.
 */
function patchErlang() {
  const erlang = join(ROOT_DIR, 'usr/lib/erlang');
  const libs = join(ROOT_DIR, 'usr/lib/x86_64-linux-gnu');
  const loader = join(libs, 'ld-linux-x86-64.so.2');
  if (!existsSync(loader)) throw new Error(`${loader} missing after extraction`);
  const bins = readdirSync(erlang)
    .filter((d) => d.startsWith('erts-'))
    .map((d) => join(erlang, d, 'bin'))
    .concat(join(erlang, 'bin')); // erlc, escript: copies, not links
  const dirs = bins
    .concat(readdirSync(join(erlang, 'lib')).map((d) => join(erlang, 'lib', d, 'priv')))
    .filter((d) => existsSync(d));
  let patched = 0;
  // and trixie's OpenSSL takes trixie's zlib and zstd rather than the machine's
  const openssl = ['libcrypto.so.3', 'libssl.so.3'].map((f) => join(libs, f));
  for (const file of [...dirs.flatMap((d) => [...filesUnder(d)]), ...openssl]) {
    if (!isElf(file)) continue;
    let executable = true;
    try {
      execFileSync('patchelf', ['--print-interpreter', file], { stdio: 'ignore' });
    } catch {
      executable = false; // a shared object: no loader of its own
    }
    const args = executable ? ['--set-interpreter', loader] : [];
    execFileSync('patchelf', [...args, '--set-rpath', libs, file]);
    patched++;
  }
  // the start scripts (erl, start) hard-code the install folder Debian gave them, ERL_ROOTDIR or not
  for (const file of bins.flatMap((d) => ['erl', 'start'].map((f) => join(d, f)))) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace(/ROOTDIR=\/usr\/lib\/erlang$/gm, `ROOTDIR=${erlang}`));
  }
  return patched;
}

/** What the installed root holds, or undefined when not (completely) installed. */
export function installed() {
  if (!existsSync(MARKER)) return undefined;
  return JSON.parse(readFileSync(MARKER, 'utf8'));
}

/** Installs once; returns the marker's content (versions of every package). */
export async function install() {
  const done = installed();
  if (done) return done;
  for (const tool of ['gpgv', 'xz', 'dpkg-deb', 'dpkg', 'patchelf']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      throw new Error(`${tool} missing (apt-get install -y ${tool === 'dpkg-deb' ? 'dpkg' : tool})`);
    }
  }
  const t0 = Date.now();
  log(`resolving ${PACKAGES.length} packages in ${SUITES.map((s) => s.suite).join(', ')}`);
  const pkgs = await resolvePackages();
  const debs = [];
  for (const p of pkgs) debs.push(await fetchDeb(p));
  rmSync(ROOT_DIR, { recursive: true, force: true });
  mkdirSync(ROOT_DIR, { recursive: true });
  for (const deb of debs) execFileSync('dpkg-deb', ['-x', deb, ROOT_DIR]);
  const patched = patchErlang();
  const versions = Object.fromEntries(pkgs.map((p) => [p.Package, `${p.Version} (${p.suite})`]));
  const otp = execFileSync(join(ERLANG_BIN, 'erl'), [
    '-noshell',
    '-eval',
    'io:format("~s ~s", [erlang:system_info(otp_release), crypto:info_lib() =/= [] andalso element(3, hd(crypto:info_lib()))]), halt().',
  ])
    .toString()
    .trim();
  const marker = { rabbitmq: RABBIT4_VERSION, otpAndOpenssl: otp, versions, patchedElfFiles: patched };
  writeFileSync(MARKER, `${JSON.stringify(marker, null, 2)}\n`);
  log(`installed into ${ROOT_DIR} in ${((Date.now() - t0) / 1000).toFixed(1)} s (OTP, OpenSSL: ${otp})`);
  return marker;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const m = await install();
    log(`rabbitmq-server ${m.versions['rabbitmq-server']}, erlang-base ${m.versions['erlang-base']}`);
  } catch (err) {
    console.error(
      `[rabbitmq-4] ${err.name === 'VerificationError' ? 'VERIFICATION FAILED: ' : ''}${err.message}`,
    );
    process.exit(1);
  }
}
