// Network partitions for the chaos suite: nftables rules that drop every packet a node sends (it runs
// under a group id of its own, matched by `meta skgid`, which catches its outgoing connections too) and
// every packet to its listening ports. Only inside the suite's own network namespace (scripts/chaos.mjs sets CHAOS_NETNS),
// so no rule ever lands on the machine's loopback or outlives a crashed run.
import { execFileSync } from 'node:child_process';

const TABLE = 'chaos_partition';

function nft(script: string): void {
  if (process.env.CHAOS_NETNS !== '1') {
    throw new Error(
      'refusing to change nftables outside the chaos network namespace (run npm run test:chaos)',
    );
  }
  execFileSync('nft', ['-f', '-'], { input: script, stdio: ['pipe', 'inherit', 'inherit'] });
}

/** Cuts a node off: nothing it sends leaves (group `gid`), nothing reaches its `ports`. */
export function partition(node: { gid: number; ports: number[] }): void {
  nft(
    [
      `table inet ${TABLE} {`,
      '  chain output {',
      '    type filter hook output priority 0; policy accept;',
      `    meta skgid ${node.gid} drop`,
      '  }',
      '  chain input {',
      '    type filter hook input priority 0; policy accept;',
      `    tcp dport { ${node.ports.join(', ')} } drop`,
      '  }',
      '}',
      '',
    ].join('\n'),
  );
}

/** Removes the partition. */
export function heal(): void {
  nft(`delete table inet ${TABLE}\n`);
}
