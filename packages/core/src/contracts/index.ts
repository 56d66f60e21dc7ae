// @local-cluster/core/contracts: what a plugin or driver author implements and the errors core
// raises, and nothing else: the CniPlugin, Addon and Driver contracts with their API versions, the
// image recipe and requirement shapes, the node contract (names shared with the node image) and
// the typed errors. The full engine is the package's main entry.

export {
  AbortedError, ConfigError, type ConfigSource, describeSource, DriverError, EngineUnreachableError,
  type ErrorOptions, ExecError, ImageBuildError, isAbortedError, isConfigError, isDriverError,
  isEngineUnreachableError, isExecError, isImageBuildError, isLocalClusterError, isPluginError,
  isPreflightError, isStepError, LocalClusterError, PluginError, PreflightError, StepError,
  throwIfAborted,
} from '../errors.js';
export {
  type CallOptions, type ClusterSummary, type Driver, DRIVER_API_VERSION, type DriverInfo,
  type EngineLocation, type ExecOptions, type ExecResult, type ImageInfo, type ImageOps, LABELS,
  type Mount, type NetworkInfo, type NetworkSpec, type NodeHandle, type NodeRole, type NodeSpec,
  type ObjectRole, type PortMapping, type Selector, type VolumeInfo, type VolumeOps,
} from './driver.js';
export {
  type ClusterContext, type ImageBuildContext, type ImageRequirement, type Logger,
} from './context.js';
export { CNI_API_VERSION, type CniPlugin, type CniSupports, type KubeadmPatches } from './cni.js';
export { type Addon, type AddonPortMapping, ADDON_API_VERSION, BACKGROUND_LABEL, type EngineContext } from './addon.js';
export { type GoBinary, type ImageFile, type ImageRecipe } from './image.js';
export { IPTABLES_COMMANDS, IPTABLES_WRAPPER, iptablesWrapperFiles } from './iptables.js';
export { capabilityName, extraNodeCapabilities, NODE_CAPABILITIES, NODE_CONTRACT } from './node.js';
