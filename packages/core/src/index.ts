export {
  buildInDocker,
  DEFAULT_BASE_IMAGE,
  type DockerBuildOptions,
  type DockerStep,
  generateDockerfile,
} from './build/docker.js';
export {
  BUILD_REPORT,
  type BuildAllEntry,
  type BuildAllOptions,
  type BuildFile,
  type BuildLimits,
  type BuildOptions,
  type BuildReport,
  type BuildResult,
  type BuildStep,
  buildAll,
  buildApp,
  checkLimits,
  contentTypeOf,
  describeFiles,
  findApps,
  formatBytes,
  PLAN_LIMITS,
  type Plan,
  readBuildReport,
  resolveLimits,
} from './build/index.js';
export { CONFIG_FILE, readConfig, serializeConfig, writeConfig } from './config.js';
export { type Context, type Logger, makeContext, silentLogger } from './context.js';
export {
  type AssetsConfig,
  applyCloudflareDeploy,
  CLOUDFLARE_LIMITS,
  type CloudflareApplyOptions,
  type CloudflareConnection,
  type CloudflareDeployEvent,
  type CloudflareDeployInput,
  type CloudflareDeploymentRecord,
  type CloudflareDeployResult,
  type CloudflarePlan,
  type CloudflarePlannedFile,
  type CloudflarePlannedModule,
  type CloudflareWorkerOptions,
  cloudflareTarget,
  listCloudflareDeployments,
  planCloudflareDeploy,
  rollbackCloudflare,
  type WorkerBinding,
  type WorkerMetadata,
} from './deploy/adapters/cloudflare.js';
export {
  applyLocalDeploy,
  type LocalConnection,
  type LocalDeployEvent,
  type LocalDeployInput,
  type LocalDeploymentRecord,
  type LocalDeployResult,
  type LocalPlan,
  type LocalPlannedFile,
  type LocalPlannedModule,
  listLocalDeployments,
  localTarget,
  planLocalDeploy,
  rollbackLocal,
} from './deploy/adapters/local.js';
export {
  applyDeploy,
  type CloudflareSettings,
  type DeploymentRecord,
  type DeploymentRecordOutcome,
  type DeployOptions,
  type DeployPlan,
  type DeployResult,
  listDeployments,
  planDeploy,
  rollbackDeploy,
  type StudioDeploymentRecord,
  type StudioSettings,
  type TargetName,
} from './deploy/index.js';
export type { DeploymentRecordBase, DeployPlanBase, DeployResultBase, DeployTarget } from './deploy/target.js';
export { type DevEvent, type DevOptions, type DevServer, isWorkerPath, startDev } from './dev/index.js';
export {
  type CheckStatus,
  type Credentials,
  credentialsPath,
  type DoctorCheck,
  type DoctorOptions,
  type DoctorReport,
  MIN_NODE_VERSION,
  runDoctor,
} from './doctor.js';
export { ExitCode, isReynaError, ReynaError, type ReynaErrorOptions } from './errors.js';
export { checkAppName, type InitOptions, type InitResult, type InitStep, initApp } from './init/index.js';
export { appIdBinding, injectHtml, isHtmlPath, scriptJson } from './inject/index.js';
export type { ReynaConfig, TemplateManifest, TemplateRecord } from './protocol/config.js';
export { reynaJsonSchema, SCHEMA_FILE, SCHEMA_REF, serializeSchema } from './protocol/config.js';
export {
  createServerToken,
  type LoginResult,
  listServerTokens,
  login,
  normalizeServerUrl,
  readCredentials,
  resolveStudio,
  revokeServerToken,
  StudioClient,
  type StudioClientOptions,
  type StudioIO,
  type StudioTarget,
  saveCredentials,
  whoami,
} from './studio/index.js';
export { type BuiltinIndex, type BuiltinVersion, readBuiltinIndex } from './templates/adapters/builtin.js';
export { instantiate } from './templates/instantiate.js';
export { listBuiltinTemplates, templateCacheDir } from './templates/registry.js';
export { compareVersions, newestTag } from './templates/semver.js';
export { parseTemplateSpec, type TemplateSpec } from './templates/spec.js';
export {
  type AbortResult,
  abortUpgrade,
  type ContinueResult,
  continueUpgrade,
  type UpgradeAction,
  type UpgradeOptions,
  type UpgradePlan,
  upgradeApp,
} from './upgrade/index.js';
