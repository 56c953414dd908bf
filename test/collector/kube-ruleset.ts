import { createHash } from 'node:crypto';

/**
 * Generates kube-proxy-shaped iptables-restore input (iptables mode, kube-proxy ≥ 1.28 layout), with the
 * kubelet's and the VPC CNI's own chains beside it, and counts what it wrote as it writes it. The counts come
 * from this generator's bookkeeping alone, so tests can hold the collector to exact numbers.
 */
export interface KubeRulesetOptions {
  /** Service ports to program. */
  readonly services: number;
  /** Every n-th Service is a NodePort Service (the others are ClusterIP). @default 3 */
  readonly nodePortEvery?: number;
  /** Every n-th Service has no endpoints (REJECT rules, no KUBE-SVC chain). @default 10 */
  readonly noEndpointsEvery?: number;
  /** Services with endpoints get 1..maxEndpoints of them, in turn. @default 3 */
  readonly maxEndpoints?: number;
  /** Write kube-proxy's rules; false gives a node where only kubelet and the CNI wrote rules. @default true */
  readonly kubeProxy?: boolean;
  /** Namespace part of the Service names, so two rulesets do not share chain names. @default 'default' */
  readonly namespace?: string;
}

/** What the ruleset holds, in the collector's terms (see collector/collect.sh). */
export interface KubeRulesetCounts {
  readonly rules: { total: number; nat: number; filter: number; mangle: number; raw: number };
  readonly chains: { nat: number; filter: number; mangle: number };
  readonly kubeServiceChains: number;
  readonly kubeEndpointChains: number;
  /** -A rules in KUBE-SERVICES, KUBE-SVC-*, KUBE-SEP-*, KUBE-EXT-*, KUBE-NODEPORTS, KUBE-POSTROUTING, KUBE-MARK-MASQ. */
  readonly kubeProxyRules: number;
  /** Services by kind, as generated. */
  readonly clusterIpServices: number;
  readonly nodePortServices: number;
  readonly servicesWithoutEndpoints: number;
}

export interface KubeRuleset {
  /** iptables-restore input. */
  readonly text: string;
  readonly expected: KubeRulesetCounts;
}

type Table = 'filter' | 'nat' | 'mangle';

const KUBE_PROXY_CHAIN = /^(KUBE-SERVICES|KUBE-NODEPORTS|KUBE-POSTROUTING|KUBE-MARK-MASQ|KUBE-(SVC|SEP|EXT)-.+)$/;
const BUILT_IN: Record<Table, readonly string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
};

/** kube-proxy's chain-name hash: the first 16 characters of base32(sha256(text)). */
function chainHash(text: string): string {
  const bytes = createHash('sha256').update(text).digest();
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 16) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length >= 16) break;
  }
  return out;
}

/** Dotted IPv4 address from a base (a.b.0.0/16) and an index. */
function address(base: readonly [number, number], index: number): string {
  return `${base[0]}.${base[1]}.${(index >> 8) & 255}.${index & 255}`;
}

/** Builds one ruleset; see {@link KubeRulesetOptions}. */
export function generateKubeRuleset(options: KubeRulesetOptions): KubeRuleset {
  const nodePortEvery = options.nodePortEvery ?? 3;
  const noEndpointsEvery = options.noEndpointsEvery ?? 10;
  const maxEndpoints = options.maxEndpoints ?? 3;
  const withKubeProxy = options.kubeProxy ?? true;
  const namespace = options.namespace ?? 'default';

  const chainLines: Record<Table, string[]> = { filter: [], nat: [], mangle: [] };
  const ruleLines: Record<Table, string[]> = { filter: [], nat: [], mangle: [] };
  const tally = {
    rules: { filter: 0, nat: 0, mangle: 0 },
    chains: { filter: 0, nat: 0, mangle: 0 },
    svc: 0,
    sep: 0,
    kubeProxyRules: 0,
    clusterIp: 0,
    nodePort: 0,
    noEndpoints: 0,
  };

  const chain = (table: Table, name: string) => {
    chainLines[table].push(`:${name} - [0:0]`);
    tally.chains[table] += 1;
    if (name.startsWith('KUBE-SVC-')) tally.svc += 1;
    if (name.startsWith('KUBE-SEP-')) tally.sep += 1;
  };
  const rule = (table: Table, chainName: string, spec: string) => {
    ruleLines[table].push(`-A ${chainName} ${spec}`);
    tally.rules[table] += 1;
    if (KUBE_PROXY_CHAIN.test(chainName)) tally.kubeProxyRules += 1;
  };

  // kubelet (1.24+): canaries, the iptables hint, the localnet firewall; older kubelets' KUBE-MARK-DROP.
  for (const table of ['mangle', 'nat', 'filter'] as const) chain(table, 'KUBE-KUBELET-CANARY');
  chain('mangle', 'KUBE-IPTABLES-HINT');
  chain('filter', 'KUBE-FIREWALL');
  rule('filter', 'INPUT', '-j KUBE-FIREWALL');
  rule('filter', 'OUTPUT', '-j KUBE-FIREWALL');
  rule(
    'filter',
    'KUBE-FIREWALL',
    '! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
  );
  chain('nat', 'KUBE-MARK-DROP');
  rule('nat', 'KUBE-MARK-DROP', '-j MARK --set-xmark 0x8000/0x8000');

  // VPC CNI: one SNAT chain and the connmark rules.
  chain('nat', 'AWS-SNAT-CHAIN-0');
  rule('nat', 'POSTROUTING', '-m comment --comment "AWS SNAT CHAIN" -j AWS-SNAT-CHAIN-0');
  rule('nat', 'AWS-SNAT-CHAIN-0', '-d 10.0.0.0/16 -m comment --comment "AWS SNAT CHAIN" -j RETURN');
  rule(
    'nat',
    'AWS-SNAT-CHAIN-0',
    '! -o vlan+ -m comment --comment "AWS, SNAT" -m addrtype ! --dst-type LOCAL -j SNAT --to-source 10.0.1.10 --random-fully',
  );
  rule(
    'mangle',
    'PREROUTING',
    '-i eth0 -m comment --comment "AWS, primary ENI" -m addrtype --dst-type LOCAL --limit-iface-in -j CONNMARK --set-xmark 0x80/0x80',
  );
  rule(
    'mangle',
    'PREROUTING',
    '-i eni+ -m comment --comment "AWS, primary ENI" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80',
  );

  if (withKubeProxy) {
    for (const table of ['mangle', 'nat', 'filter'] as const) chain(table, 'KUBE-PROXY-CANARY');
    for (const name of ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ']) chain('nat', name);
    for (const name of [
      'KUBE-SERVICES',
      'KUBE-EXTERNAL-SERVICES',
      'KUBE-NODEPORTS',
      'KUBE-FORWARD',
      'KUBE-PROXY-FIREWALL',
    ]) {
      chain('filter', name);
    }
    rule('nat', 'PREROUTING', '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
    rule('nat', 'OUTPUT', '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
    rule('nat', 'POSTROUTING', '-m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING');
    rule('nat', 'KUBE-MARK-MASQ', '-j MARK --set-xmark 0x4000/0x4000');
    rule('nat', 'KUBE-POSTROUTING', '-m mark ! --mark 0x4000/0x4000 -j RETURN');
    rule('nat', 'KUBE-POSTROUTING', '-j MARK --set-xmark 0x4000/0x0');
    rule(
      'nat',
      'KUBE-POSTROUTING',
      '-m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    );
    rule(
      'filter',
      'INPUT',
      '-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    );
    rule('filter', 'INPUT', '-m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS');
    rule(
      'filter',
      'INPUT',
      '-m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
    );
    rule('filter', 'FORWARD', '-m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD');
    rule(
      'filter',
      'FORWARD',
      '-m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    );
    rule(
      'filter',
      'OUTPUT',
      '-m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    );
    rule('filter', 'KUBE-FORWARD', '-m conntrack --ctstate INVALID -j DROP');
    rule(
      'filter',
      'KUBE-FORWARD',
      '-m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
    );
    rule(
      'filter',
      'KUBE-FORWARD',
      '-m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    );

    let podIndex = 1;
    let endpointTurn = 0;
    for (let i = 0; i < options.services; i += 1) {
      const name = `${namespace}/svc-${i}:http`;
      const clusterIp = address([10, 100], i + 1);
      const port = 80 + (i % 7);
      const nodePort = i % nodePortEvery === nodePortEvery - 1 ? 30000 + (i % 2700) : undefined;
      const hasEndpoints = i % noEndpointsEvery !== noEndpointsEvery - 1;
      if (nodePort === undefined) tally.clusterIp += 1;
      else tally.nodePort += 1;

      if (!hasEndpoints) {
        tally.noEndpoints += 1;
        rule(
          'filter',
          'KUBE-SERVICES',
          `-d ${clusterIp}/32 -p tcp -m comment --comment "${name} has no endpoints" -m tcp --dport ${port} -j REJECT --reject-with icmp-port-unreachable`,
        );
        if (nodePort !== undefined) {
          rule(
            'filter',
            'KUBE-EXTERNAL-SERVICES',
            `-p tcp -m comment --comment "${name} has no endpoints" -m addrtype --dst-type LOCAL -m tcp --dport ${nodePort} -j REJECT --reject-with icmp-port-unreachable`,
          );
        }
        continue;
      }

      const svcChain = `KUBE-SVC-${chainHash(`${name}/tcp`)}`;
      chain('nat', svcChain);
      rule(
        'nat',
        'KUBE-SERVICES',
        `-d ${clusterIp}/32 -p tcp -m comment --comment "${name} cluster IP" -m tcp --dport ${port} -j ${svcChain}`,
      );
      rule(
        'nat',
        svcChain,
        `! -s 10.0.0.0/16 -d ${clusterIp}/32 -p tcp -m comment --comment "${name} cluster IP" -m tcp --dport ${port} -j KUBE-MARK-MASQ`,
      );
      if (nodePort !== undefined) {
        const extChain = `KUBE-EXT-${chainHash(`${name}/tcp/ext`)}`;
        chain('nat', extChain);
        rule(
          'nat',
          'KUBE-NODEPORTS',
          `-p tcp -m comment --comment "${name}" -m tcp --dport ${nodePort} -j ${extChain}`,
        );
        rule(
          'nat',
          extChain,
          `-m comment --comment "masquerade traffic for ${name} external destinations" -j KUBE-MARK-MASQ`,
        );
        rule('nat', extChain, `-j ${svcChain}`);
      }
      const endpoints = 1 + (endpointTurn % maxEndpoints);
      endpointTurn += 1;
      for (let e = 0; e < endpoints; e += 1) {
        const podIp = address([10, 1], podIndex);
        podIndex += 1;
        const sepChain = `KUBE-SEP-${chainHash(`${name}/tcp/${podIp}:8080`)}`;
        chain('nat', sepChain);
        const left = endpoints - e;
        const statistic =
          left > 1 ? ` -m statistic --mode random --probability ${(1 / left).toFixed(11).slice(0, 13)}` : '';
        rule('nat', svcChain, `-m comment --comment "${name} -> ${podIp}:8080"${statistic} -j ${sepChain}`);
        rule('nat', sepChain, `-s ${podIp}/32 -m comment --comment "${name}" -j KUBE-MARK-MASQ`);
        rule('nat', sepChain, `-p tcp -m comment --comment "${name}" -m tcp -j DNAT --to-destination ${podIp}:8080`);
      }
    }
    rule(
      'nat',
      'KUBE-SERVICES',
      '-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
    );
  }

  const sections = (['filter', 'nat', 'mangle'] as const).map((table) =>
    [
      `*${table}`,
      ...BUILT_IN[table].map((name) => `:${name} ACCEPT [0:0]`),
      ...chainLines[table],
      ...ruleLines[table],
      'COMMIT',
    ].join('\n'),
  );
  const { filter, nat, mangle } = tally.rules;
  return {
    text: `${sections.join('\n')}\n`,
    expected: {
      rules: { total: filter + nat + mangle, nat, filter, mangle, raw: 0 },
      chains: { ...tally.chains },
      kubeServiceChains: tally.svc,
      kubeEndpointChains: tally.sep,
      kubeProxyRules: tally.kubeProxyRules,
      clusterIpServices: tally.clusterIp,
      nodePortServices: tally.nodePort,
      servicesWithoutEndpoints: tally.noEndpoints,
    },
  };
}
