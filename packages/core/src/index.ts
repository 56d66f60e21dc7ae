// The public API of @local-cluster/core, by explicit list: what the other packages of the project,
// plugin authors and library users import. Anything not listed here is internal and may change.
// Plugin authors: @local-cluster/core/contracts carries only the contracts; @local-cluster/core/testing
// the contract checks for plugins and the fake Driver.

// Errors: one class per failure, each with an is...() guard that also matches by name
export {
  AbortedError, ConfigError, type ConfigSource, describeSource, DriverError, EngineUnreachableError,
  type ErrorOptions, ExecError, ImageBuildError, isAbortedError, isConfigError, isDriverError,
  isEngineUnreachableError, isExecError, isImageBuildError, isLocalClusterError, isPluginError,
  isPreflightError, isStepError, LocalClusterError, PluginError, PreflightError, StepError,
  throwIfAborted,
} from './errors.js';

// Contracts: what drivers, CNI plugins and addons implement (also in @local-cluster/core/contracts)
export {
  type CallOptions, type ClusterSummary, type Driver, DRIVER_API_VERSION, type DriverInfo,
  type EngineLocation, type ExecOptions, type ExecResult, type ImageInfo, type ImageOps, LABELS,
  type Mount, type NetworkInfo, type NetworkSpec, type NodeHandle, type NodeRole, type NodeSpec,
  type ObjectRole, type PortMapping, type Selector, type VolumeInfo, type VolumeOps,
} from './contracts/driver.js';
export {
  type ClusterContext, type ImageBuildContext, type ImageRequirement, type Logger,
} from './contracts/context.js';
export { CNI_API_VERSION, type CniPlugin, type CniSupports, type KubeadmPatches } from './contracts/cni.js';
export { type Addon, type AddonPortMapping, ADDON_API_VERSION, BACKGROUND_LABEL, type EngineContext } from './contracts/addon.js';
export { type GoBinary, type ImageFile, type ImageRecipe } from './contracts/image.js';
export { IPTABLES_COMMANDS, IPTABLES_WRAPPER, iptablesWrapperFiles } from './contracts/iptables.js';
export { capabilityName, extraNodeCapabilities, NODE_CAPABILITIES, NODE_CONTRACT } from './contracts/node.js';

// Config: the schema behind the file, the environment, the flags and the docs table
export {
  cidrsOverlap, cidrsOverlapAny, type Component, type ConfigInput, configSchema, DEFAULT_KUBERNETES_VERSION,
  IP_FAMILIES, type IpFamily, isNetworkAddress, mirrorUrlProblem, nearLastAddress6, networkOf6, nthAddress, nthAddress6, parseCidr, parseCidr6,
  POD_SUBNET6, type ResolvedConfig, SERVICE_SUBNET6, type SettingMeta, SUPPORTED_KUBERNETES,
} from './config/schema.js';
export { type AddressFamily, familiesOf, hasIpv4, hasIpv6, ipv6Ranges, podRanges, serviceRanges } from './config/ip-family.js';
export {
  containerdMajorFor, kubeletFailsCgroupV1, kubernetesVersionProblem,
} from './config/kubernetes-versions.js';
export {
  ENV_PREFIX, envNameForFlag, formatDefault, listSettings, type Setting, settingByFlag,
  settingByPath, type SettingType,
} from './config/settings.js';
export {
  checkKnownKeys, coerceText, CONFIG_FILE_ENV, configJsonSchema, HOME_ENV, loadConfig,
  type LoadConfigOptions, type LoadedConfig, localClusterHome, readConfigFile, readRawConfigFile,
} from './config/load.js';

// Plugins: loading by name or path, validation, manifest CNIs
export { type PluginKind, type PluginOf, validatePlugin } from './plugins/validate.js';
export {
  loadPlugin, type PluginRef, type ResolvePluginOptions, resolvePluginUrl,
} from './plugins/resolve.js';
export { manifestCni, type ManifestCniDefinition } from './plugins/manifest-cni.js';
export { givesPodNetwork, NO_CNI, noCni } from './plugins/no-cni.js';
export { connectClusters, type ConnectedCluster, type ConnectOptions, type ConnectResult } from './lifecycle/connect.js';
export { convertKindConfig, isKindConfig, KIND_API_VERSION, type KindConversion } from './config/kind.js';

// The step engine and the lifecycle (up, down, clean, restore, resume) and its modes
export {
  makeLogger, type ProgressEvent, type ProgressListener, runSteps, type RunStepsOptions, type Step,
  type StepRuntime, type StepTiming,
} from './engine/steps.js';
export {
  clean, clusterContainers, down, type TeardownOptions, type TeardownResult,
} from './lifecycle/teardown.js';
export { extractTar, sleep, waitFor, writeNodeFile } from './nodeutil.js';
export { configuredRegistryHosts, defaultServer, registryHostsFiles, writeRegistryHosts, type NodeFile, type RegistryHost, type RegistryHosts } from './lifecycle/registry-hosts.js';
export {
  adminKubeconfigFile, API_SERVER_PORT, CHECKS_CONFIGMAP, containerName, ownerLabels, upCommandFor,
} from './lifecycle/naming.js';
export { apiServerPublish, type ApiServerPublish, apiServerUrl } from './lifecycle/api-address.js';
export {
  controlPlaneEndpoint, DISCOVERY_FILE, discoveryKubeconfig, IGNORED_PREFLIGHT_ERRORS,
  type JoinRenderInput, KUBEADM_PATCHES_DIR, kubeadmPatchFiles, type KubeadmRenderInput,
  newBootstrapToken, renderClusterKubeadm, renderInitConfig, renderJoinConfig,
} from './lifecycle/kubeadm-config.js';
export { CLUSTER_RANGES_HOOK, CLUSTER_RANGES_TABLE, clusterRangesHook } from './lifecycle/cluster-ranges.js';
export {
  loadArchive, loadImages, type LoadOptions, requireKubeconfig, runningNodes,
} from './lifecycle/load.js';
export {
  ADMIN_CONF, clusterDir, controlPlaneOf, kubectlOn, snapshotConfigHash, type UpContext,
  type UpOptions,
} from './lifecycle/context.js';
export { type Cluster, SERVICES_STEPS, up, UP_STEPS } from './lifecycle/up.js';
export { isServicesNode, MODE_LABEL } from './lifecycle/services.js';
export { HOLLOW_LABEL, hollowMemoryProblem, kubemarkImage } from './lifecycle/hollow-nodes.js';
export { checkExternal, externalCluster, hollowManifests, hollowNamespace, hollowOnLabels, hollowPodStatus, hollowPods, namesOfPod, placementOf, readPlacement, removeHollowNamespace, schedulingProblem, HOLLOW_NODE_MILLICORES, type ExternalCluster, type HollowPlacement } from './lifecycle/hollow-nodes-on.js';
export { describeUnreadyPods, manifestOf, waitForRollout } from './lifecycle/rollout.js';
export { imageCacheDir, neededImages } from './lifecycle/images.js';
export {
  type NodePlan, type NodeSettings, type PlannedNode, planNodes,
} from './lifecycle/node-plan.js';
export { haproxyConfig, loadBalancerSpec } from './lifecycle/load-balancer.js';
export { hasComponentSettings, newProblems, stopReason } from './lifecycle/steps/validate.js';
export { ensureHelm, helmBinary } from './lifecycle/helm.js';
export { addAddon, networkOf } from './lifecycle/add-addon.js';
export { chooseSubnet, chooseSubnet6, withFreeSubnet } from './lifecycle/subnet.js';
export { exportLogs, type ExportLogsOptions, type ExportLogsResult } from './lifecycle/export-logs.js';
export { lockFile, type LockHolder, withClusterLock } from './lifecycle/lock.js';
export { withWaitingLock } from './lock-file.js';
export {
  clusterFamilies, clusterPodSubnet, clusterPodSubnets, clusterServiceSubnets, type Kubectl, kubeProxyMode, nodeAddresses, REAL_NODES_SELECTOR, serverVersion,
} from './lifecycle/cluster-facts.js';
export {
  countReady, createFakeNodes, FAKE_NODE_LABEL, fakeNodeManifest, fakeNodeName, fakeNodesAddress,
  type FakeNodesOptions, fakeNodesSpec, kwokArgs, kwokImage, kwokPodCidr, kwokRbac,
  waitFakeNodesReady,
} from './lifecycle/fake-nodes.js';
export {
  type ApiAccess, apiAccessFromKubeconfig, ApiError, inParallel, KubeApi, tokenKubeconfig,
} from './lifecycle/kube-api.js';
export { type Condition, type KubeObjectList, readyCondition } from './lifecycle/kube-objects.js';
export { booted } from './lifecycle/steps/boot.js';
export { hostKubectl } from './lifecycle/host-kubectl.js';

// The image factory: recipes, Go builds, Debian packages, the Kubernetes program builder
export {
  archiveManifest, canonicalJson, dropBlankImports, ensureGoBinaries, ensureImage, findGo,
  goBinaryHash, goBinaryProblems, goBuildArgs, goDirective, goEnv, goModuleDir, goToolchainFor, imageConfig,
  type ImageFactoryOptions, type ImageState, imageStatus, type ImageStatus, importedModules,
  type KubeadmImageVersions, type KubernetesRelease, loadImagesIntoNodes, type NeededImage,
  parseDependsClosure, parseGoJsonStream, parseKubeadmConstants, recipeHash, recipeProblems,
  resolveKubernetesRelease, sourceTreeKey, stagingRequirements, syncImagesIntoNodes, type Toolchain, toolchainFor,
  withStagingDependencies,
} from './images/index.js';
export { kubernetesProgram, kubernetesRelease } from './images/kubernetes-programs.js';
