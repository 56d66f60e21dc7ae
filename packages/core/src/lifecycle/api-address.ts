import { isIPv4 } from 'node:net';
import type { ResolvedConfig } from '../config/schema.js';
import type { Driver } from '../contracts/driver.js';

/** Where the API server's host port is published and how clients reach it. */
export interface ApiServerPublish {
  /** The host IP the engine binds the port on (127.0.0.1, an address, or 0.0.0.0). */
  listen: string;
  /** The address the kubeconfig names (https://ADDRESS:PORT), also put in the certificate. */
  address: string;
  /** The engine runs on another machine: ports, host paths and node addresses are that machine's. */
  remote: boolean;
}

/**
 * kind's apiServerAddress: cluster.apiServerAddress when set (an IP is listened on, a name
 * listens on 0.0.0.0); else 127.0.0.1 for an engine on this machine, and for an engine on
 * another machine its host name (from DOCKER_HOST or the Docker context), on 0.0.0.0, since
 * its loopback is out of this machine's reach.
 */
export function apiServerPublish(config: ResolvedConfig, driver: Pick<Driver, 'location'> | undefined): ApiServerPublish {
  const location = driver?.location;
  const remote = location?.remote ?? false;
  const set = config.cluster.apiServerAddress;
  if (set !== undefined) return { listen: isIPv4(set) ? set : '0.0.0.0', address: set, remote };
  if (remote && location) return { listen: '0.0.0.0', address: location.address, remote };
  return { listen: '127.0.0.1', address: '127.0.0.1', remote };
}

/** The URL of the API server from this machine. */
export function apiServerUrl(address: string, port: number): string {
  return `https://${address.includes(':') ? `[${address}]` : address}:${port}`;
}
