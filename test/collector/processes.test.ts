import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createNetns,
  deleteNetns,
  makeTempDir,
  removeDir,
  runCollector,
  section,
  spawnNamed,
  startHttpServer,
  stopProcess,
  waitFor,
} from './harness.js';

// Process discovery is the real /proc: these tests start stand-ins named like the real processes (a copy of
// sleep as aws-k8s-agent, a copy of bash as kube-proxy). Only this file starts such stand-ins, and its tests
// run one after another, so each run sees exactly the stand-in it started.

const CLUSTER_ENDPOINT = 'https://0123456789ABCDEF0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com';

/** kube-proxy's config as the EKS add-on writes it; the ipvs block's periods must not be taken. */
const EKS_KUBE_PROXY_CONFIG = `apiVersion: kubeproxy.config.k8s.io/v1alpha1
bindAddress: 0.0.0.0
clientConnection:
  acceptContentTypes: ""
  burst: 10
  contentType: application/vnd.kubernetes.protobuf
  kubeconfig: /var/lib/kube-proxy/kubeconfig
  qps: 5
clusterCIDR: ""
configSyncPeriod: 15m0s
conntrack:
  maxPerCore: 32768
  min: 131072
  tcpCloseWaitTimeout: 1h0m0s
  tcpEstablishedTimeout: 24h0m0s
enableProfiling: false
healthzBindAddress: 0.0.0.0:10256
hostnameOverride: ""
iptables:
  masqueradeAll: false
  masqueradeBit: 14
  minSyncPeriod: 0s
  syncPeriod: 30s
ipvs:
  excludeCIDRs: null
  minSyncPeriod: 5s
  scheduler: ""
  syncPeriod: 45s
kind: KubeProxyConfiguration
metricsBindAddress: 0.0.0.0:10249
mode: "iptables"
`;

describe('aws-node and kube-proxy processes', () => {
  let netns: string;
  let dir: string;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    netns = await createNetns();
    dir = makeTempDir();
  });
  afterEach(async () => {
    await stopProcess(child);
    child = undefined;
  });
  afterAll(async () => {
    await deleteNetns(netns);
    removeDir(dir);
  });

  it('sees CLUSTER_ENDPOINT set in ipamd’s environment without printing its value', async () => {
    // Arrange
    child = await spawnNamed('/bin/sleep', 'aws-k8s-agent', dir, ['60'], { CLUSTER_ENDPOINT });

    // Act
    const run = await runCollector({ netns });

    // Assert
    expect(section(run, 'awsNode').clusterEndpointSet).toBe(true);
    expect(run.stdout).not.toContain('eks.amazonaws.com');
    expect(run.stdout).not.toContain('0123456789ABCDEF');
  });

  it('sees CLUSTER_ENDPOINT unset (or empty) in ipamd’s environment', async () => {
    // Arrange
    child = await spawnNamed('/bin/sleep', 'aws-k8s-agent', dir, ['60'], { CLUSTER_ENDPOINT: '' });

    // Act
    const run = await runCollector({ netns });

    // Assert
    expect(section(run, 'awsNode').clusterEndpointSet).toBe(false);
  });

  it('reports clusterEndpointSet null, and why, when ipamd is not running', async () => {
    // Arrange: no stand-in

    // Act
    const run = await runCollector({ netns });

    // Assert
    expect(section(run, 'awsNode')).toEqual({
      clusterEndpointSet: null,
      version: null,
      podEni: null,
      customNetworking: null,
    });
    expect(run.json.errors).toContain('awsNode: ipamd process (aws-k8s-agent) not found');
  });

  it('takes ipamd’s version from its metrics when ipamd.log has no start line', async () => {
    // Arrange
    child = await spawnNamed('/bin/sleep', 'aws-k8s-agent', dir, ['60']);
    const server = await startHttpServer({
      '/metrics': {
        body: [
          '# HELP awscni_build_info A metric with a constant 1 value labeled by version, revision, and goversion.',
          '# TYPE awscni_build_info gauge',
          'awscni_build_info{goversion="go1.22.5",version="v1.18.3-eksbuild.2"} 1',
          'awscni_eni_max 3',
          '',
        ].join('\n'),
      },
    });

    try {
      // Act: the collector runs on the host side to reach the server
      const run = await runCollector({ env: { FLEET_AUDIT_IPAMD_URL: server.url } });

      // Assert
      expect(section(run, 'awsNode')).toEqual({
        clusterEndpointSet: false,
        version: 'v1.18.3-eksbuild.2',
        podEni: false,
        customNetworking: false,
      });
    } finally {
      await server.close();
    }
  });

  it('reads the EKS config behind --config= with v1alpha1 defaulting: minSyncPeriod "0s" is in effect 1s', async () => {
    // Arrange
    const config = join(dir, 'kube-proxy-config');
    writeFileSync(config, EKS_KUBE_PROXY_CONFIG);
    child = await spawnNamed('/bin/bash', 'kube-proxy', dir, [
      '-c',
      'sleep 60; :',
      'kube-proxy',
      '--v=2',
      `--config=${config}`,
      '--hostname-override=ip-10-0-1-10.ec2.internal',
    ]);

    // Act
    const run = await runCollector({ netns });

    // Assert
    expect(section(run, 'kubeProxy')).toMatchObject({ minSyncPeriod: '1s', syncPeriod: '30s', configSource: 'file' });
  });

  it("applies kube-proxy's default syncPeriod 30s where the config does not set it (--config PATH form)", async () => {
    // Arrange
    const config = join(dir, 'kube-proxy-config-partial');
    writeFileSync(
      config,
      'kind: KubeProxyConfiguration\niptables:\n  masqueradeBit: 14\n  minSyncPeriod: "1s"\nmode: iptables\n',
    );
    child = await spawnNamed('/bin/bash', 'kube-proxy', dir, ['-c', 'sleep 60; :', 'kube-proxy', '--config', config]);

    // Act
    const run = await runCollector({ netns });

    // Assert
    expect(section(run, 'kubeProxy')).toMatchObject({ minSyncPeriod: '1s', syncPeriod: '30s', configSource: 'file' });
  });

  it('reports null periods, and why, when kube-proxy is not running', async () => {
    // Arrange: no stand-in

    // Act
    const run = await runCollector({ netns });

    // Assert
    expect(section(run, 'kubeProxy')).toMatchObject({ minSyncPeriod: null, syncPeriod: null });
    expect(run.json.errors).toContain('kube-proxy: process not found');
  });

  /**
   * Starts a kube-proxy stand-in whose root (/proc/PID/root) is `tree`: a copy of sleep named kube-proxy, with the
   * libraries it needs, chroot-ed into a tree that holds the image's iptables links. Nothing in the tree but the
   * stand-in is ever executed; the links point at files that do not exist, as the collector only reads links.
   */
  async function kubeProxyImage(tree: string, links: Readonly<Record<string, string>>): Promise<ChildProcess> {
    // the libraries sleep links against, wherever this machine's architecture keeps them
    const libraries = execFileSync('ldd', ['/bin/sleep'], { encoding: 'utf8' }).match(/\/\S+/g) ?? [];
    for (const file of libraries) {
      mkdirSync(dirname(join(tree, file)), { recursive: true });
      copyFileSync(file, join(tree, file));
    }
    copyFileSync('/bin/sleep', join(tree, 'kube-proxy'));
    for (const [path, target] of Object.entries(links)) {
      mkdirSync(dirname(join(tree, path)), { recursive: true });
      symlinkSync(target, join(tree, path));
    }
    const stand = spawn('chroot', [tree, '/kube-proxy', '60'], { stdio: 'ignore' });
    await waitFor(() => {
      try {
        return readFileSync(`/proc/${stand.pid}/comm`, 'utf8').trim() === 'kube-proxy';
      } catch {
        return false;
      }
    }, 'the chroot-ed kube-proxy stand-in');
    return stand;
  }

  // kubernetes-sigs/iptables-wrappers installs iptables-wrapper as the iptables alternative and, on first use,
  // repoints the alternative (update-alternatives --set iptables /usr/sbin/iptables-<mode>) or, without
  // alternatives, the /usr/sbin or /sbin links to xtables-<mode>-multi.
  it('reads kube-proxy’s backend from the alternatives link inside its own root, not the host’s', async () => {
    // Arrange: the host's own alternative is iptables-nft on this machine; the image chose legacy
    const tree = join(dir, 'image-alternatives');
    child = await kubeProxyImage(tree, {
      '/usr/sbin/iptables': '/etc/alternatives/iptables',
      '/etc/alternatives/iptables': '/usr/sbin/iptables-legacy',
    });

    // Act
    const run = await runCollector({ netns });

    // Assert: an absolute link target is followed inside the image's root
    expect(section(run, 'kubeProxy').iptablesBackend).toBe('legacy');
    expect(section(run, 'lock').applicable).toBe(true);
  });

  it('reads an nft image from a relative /sbin link to xtables-nft-multi, and the lock does not apply', async () => {
    // Arrange
    const tree = join(dir, 'image-sbin');
    child = await kubeProxyImage(tree, { '/sbin/iptables': 'xtables-nft-multi' });

    // Act: the namespace holds no rules, so the host backend is none
    const run = await runCollector({ netns });

    // Assert
    expect(section(run, 'kubeProxy').iptablesBackend).toBe('nft');
    expect(section(run, 'lock').applicable).toBe(false);
  });

  it('says iptables-wrapper has not chosen yet, with backend and applicability unknown', async () => {
    // Arrange
    const tree = join(dir, 'image-unchosen');
    child = await kubeProxyImage(tree, {
      '/usr/sbin/iptables': '/etc/alternatives/iptables',
      '/etc/alternatives/iptables': '/usr/sbin/iptables-wrapper',
    });

    // Act
    const run = await runCollector({ netns });

    // Assert
    expect(section(run, 'kubeProxy').iptablesBackend).toBeNull();
    expect(section(run, 'lock').applicable).toBeNull();
    expect(run.json.errors).toContain('kube-proxy: iptables-wrapper has not chosen a backend yet');
  });
});
