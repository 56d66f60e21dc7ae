/**
 * Images as data: what a plugin declares so the image factory can build it
 * offline (Go modules from the module proxy, Debian packages from the
 * machine's apt sources) and load it into every node.
 */

/** One Go main package compiled into the image (CGO off unless `cgo`, static, stripped). */
export interface GoBinary {
  /** Module path, e.g. `github.com/flannel-io/flannel`. */
  module: string;
  /** A version the module proxy serves, e.g. `v0.28.10` (or a pseudo-version). */
  version: string;
  /** Main package, relative to the module root (`.` or `plugins/meta/flannel`). Default `.`. */
  package?: string;
  /** The binary's name in the image. */
  binary: string;
  /** Directory in the image. Default `/usr/local/bin`. */
  dir?: string;
  /** Octal file mode in the image, e.g. 0o4755 for a setuid program. Default 0o755. */
  mode?: number;
  /** Extra linker flags, e.g. `-X github.com/flannel-io/flannel/pkg/version.Version=v0.28.10`. */
  ldflags?: string[];
  /** Build tags. */
  tags?: string[];
  /**
   * Blank imports (`_ "path"`) removed from the main package before the build,
   * for optional parts that do not build with CGO off.
   */
  dropImports?: string[];
  /** Extra environment for `go` (e.g. GONOSUMDB for modules the checksum database does not know). */
  env?: Record<string, string>;
  /**
   * `replace` directives set in the module's go.mod before the build: module path ->
   * `path version` (e.g. a nested module the module zip leaves out, taken from the proxy),
   * or `stub` for an empty module of that path (a dependency nothing in the build uses).
   */
  replace?: Record<string, string>;
  /** Lines added to go.sum (`path version h1:...`), pinning versions the checksum database does not know. */
  sums?: string[];
  /**
   * Files written into the module's tree before the build, paths relative to its root: a nested
   * module the module zip leaves out that its go.mod replaces with `./dir` (its go.mod and
   * sources), or a stub package an edit points an import at. An existing file is refused: edit
   * it with `sourceEdits` instead.
   */
  sourceFiles?: { path: string; content: string }[];
  /**
   * Literal replacements in files of the module's tree (paths relative to its root), applied
   * after `sourceFiles`: each `from` must occur in the file (a new version of the module that
   * lacks it fails the build, naming the edit), and every occurrence becomes `to`. For small,
   * named changes such as pointing one import at a stub package.
   */
  sourceEdits?: { file: string; from: string; to: string }[];
  /**
   * Each `replace` of the module's go.mod that points inside its own tree (`=> ./staging/...`:
   * nested modules the module zip leaves out) is redirected to the same module path at this
   * version from the proxy, e.g. `v0.34.4` for `k8s.io/kubernetes v1.34.4`'s staging modules.
   */
  inTreeReplacesAt?: string;
  /**
   * Build the package's test binary (`go test -c -vet=off`) instead of a command, e.g.
   * Kubernetes' `test/e2e` as `e2e.test`.
   */
  test?: boolean;
  /**
   * Build with cgo (CGO_ENABLED=1) with this machine's C compiler, whose version joins the
   * binary's cache key; C flags and libraries come through `env` (CGO_CFLAGS, CGO_LDFLAGS,
   * PKG_CONFIG_PATH). Default: cgo off.
   */
  cgo?: boolean;
  /** `-buildmode`, e.g. `pie`. Default: Go's (exe). */
  buildmode?: 'exe' | 'pie';
  /**
   * The external linker's flags (`-extldflags`), e.g. `-static-pie` for a cgo program linked
   * with `-linkmode external -buildmode=pie`. Default `-static`.
   */
  extldflags?: string;
}

/** A file written into the image. Exactly one of content or link. */
export interface ImageFile {
  /** Absolute path in the image. */
  path: string;
  content?: string;
  /** Makes `path` a symbolic link to this target. */
  link?: string;
  /**
   * Copies a file of this machine (absolute path), e.g. a runtime an npm package brought.
   * Needs `sha256`: the build checks it, and the recipe hash (so the image) follows it.
   */
  source?: string;
  sha256?: string;
  /** Octal mode as a number, e.g. 0o755. Default 0o644. */
  mode?: number;
}

/**
 * How an image is built: a minimal (distroless-like) image holding only what is
 * listed. No shell unless `shell` is set.
 */
export interface ImageRecipe {
  /** Go main packages to build. */
  go?: GoBinary[];
  /** Debian packages whose files (with their dependencies) go into the image. */
  debianPackages?: string[];
  files?: ImageFile[];
  /**
   * Add busybox (sh, cp, mkdir, ...) at /bin, for the applets no package provides. With
   * debianPackages the shell finds programs on PATH first (the packages' nc, ip, ...).
   */
  shell?: boolean;
  entrypoint?: string[];
  cmd?: string[];
  env?: Record<string, string>;
  /** e.g. `65532` or `0`. Default root. */
  user?: string;
  workdir?: string;
  /** Labels on the image (ownership and recipe-hash labels are added). */
  labels?: Record<string, string>;
}
