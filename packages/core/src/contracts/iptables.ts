import type { ImageFile } from './image.js';

/**
 * An `iptables` for images that share a node's network namespace (CNI daemons,
 * kube-proxy): it runs the backend (nft or legacy) the node already uses, told
 * by the kubelet's KUBE-IPTABLES-HINT / KUBE-KUBELET-CANARY chains, else by
 * which backend holds more rules; default nft. Plain sh, no other tools: needs
 * a shell (recipe `shell`, or dash) and Debian's `iptables` package.
 */
export const IPTABLES_WRAPPER = `#!/bin/sh
mode_file=/var/run/iptables-wrapper.mode
mode=
[ -r "$mode_file" ] && read -r mode <"$mode_file"
if [ "$mode" != nft ] && [ "$mode" != legacy ]; then
  hint() { "xtables-$1-multi" iptables-save -t mangle 2>/dev/null; "xtables-$1-multi" ip6tables-save -t mangle 2>/dev/null; }
  case "$(hint nft)" in *KUBE-IPTABLES-HINT*|*KUBE-KUBELET-CANARY*) mode=nft ;; esac
  if [ -z "$mode" ]; then
    case "$(hint legacy)" in *KUBE-IPTABLES-HINT*|*KUBE-KUBELET-CANARY*) mode=legacy ;; esac
  fi
  if [ -z "$mode" ]; then
    count() { "xtables-$1-multi" iptables-save 2>/dev/null | { n=0; while read -r first rest; do [ "$first" = -A ] && n=$((n + 1)); done; echo "$n"; }; }
    mode=nft
    [ "$(count legacy)" -gt "$(count nft)" ] && mode=legacy
  fi
  echo "$mode" >"$mode_file" 2>/dev/null || true
fi
exec "/usr/sbin/xtables-$mode-multi" "\${0##*/}" "$@"
`;

/** The iptables commands the wrapper stands in for. */
export const IPTABLES_COMMANDS = ['iptables', 'iptables-save', 'iptables-restore', 'ip6tables', 'ip6tables-save', 'ip6tables-restore'] as const;

/** Recipe files: the wrapper and links to it under every iptables command name. */
export function iptablesWrapperFiles(): ImageFile[] {
  return [
    { path: '/usr/sbin/iptables-wrapper', content: IPTABLES_WRAPPER, mode: 0o755 },
    ...IPTABLES_COMMANDS.map((name) => ({ path: `/usr/sbin/${name}`, link: 'iptables-wrapper' })),
  ];
}
